/**
 * LaMP-2N (and the background of LaMP-4 articles): what news of a category is made of, as phrases that slot
 * into an article. `who` is a noun phrase (singular or plural), `does` a verb phrase in the past tense, `where`
 * an adverbial phrase, `themes` a noun phrase. Each category's own words (airport, tuition, playoffs...) run
 * through its phrases.
 */
import type { Lamp2NCategory } from '../lamp/labels.js';
import type { FacetPhrases } from './vocab.js';

export const NEWS_CATEGORY_PHRASES: Readonly<Record<Lamp2NCategory, FacetPhrases>> = {
  travel: {
    who: [
      'a budget airline',
      'a national tourism board',
      'the biggest hotel chain in the country',
      'a cruise company',
      'airport officials',
    ],
    does: [
      'cancelled hundreds of flights',
      'opened a new beach resort',
      'announced cheaper fares to popular destinations',
      'changed the rules for carry-on luggage',
      'warned travellers to renew their passports early',
    ],
    where: [
      'ahead of the summer holidays',
      'at the busiest airport in the country',
      'during the peak tourist season',
      'on a popular cruise route',
    ],
    themes: ['travel plans', 'holiday itineraries', 'the tourism industry', 'airport delays'],
  },
  education: {
    who: [
      'a group of teachers',
      'the state school board',
      'college students',
      'a rural school',
      'university leaders',
    ],
    does: [
      'rolled out a new reading curriculum',
      'protested a rise in tuition',
      'cancelled the final exams',
      'opened a literacy program for adults',
      'redesigned the classroom schedule',
    ],
    where: [
      'on a crowded campus',
      'at the start of the school year',
      'in schools across the state',
      'after a year of remote classes',
    ],
    themes: ['student learning', 'tuition costs', 'classroom life', 'school funding'],
  },
  parents: {
    who: [
      'a group of parents',
      'new moms and dads',
      'a local daycare',
      'a pediatric nurse',
      'a stay-at-home dad',
    ],
    does: [
      'shared tips for calmer bedtime routines',
      'asked for longer parental leave',
      'opened a nursery for newborns',
      'explained how to handle fights between siblings',
      'warned about screen time for toddlers',
    ],
    where: [
      'at a busy daycare',
      'in homes with young kids',
      'after a sleepless first year',
      'at the local playground',
    ],
    themes: ['parenting', 'raising toddlers', 'family routines', 'life with a newborn'],
  },
  'style & beauty': {
    who: [
      'a young designer',
      'a famous makeup artist',
      'a couture house',
      'a skincare brand',
      'a runway model',
    ],
    does: [
      'showed a bold collection on the runway',
      'launched a new lipstick line',
      'shared a simple skincare routine',
      'brought back a classic hairstyle',
      'revealed the outfits of the season',
    ],
    where: [
      'at fashion week',
      'in a pop-up boutique',
      'ahead of the spring season',
      'on a glittering runway',
    ],
    themes: ['fashion trends', 'wardrobe staples', 'makeup looks', 'beauty routines'],
  },
  entertainment: {
    who: ['a pop singer', 'a famous actor', 'a sitcom star', 'a film studio', 'a celebrity couple'],
    does: [
      'released a surprise album',
      'dropped the first trailer for a new film',
      'won a major award',
      'topped the box office',
      'announced a reunion tour',
    ],
    where: [
      'at a glitzy premiere',
      'during the awards season',
      'on a late-night talk show',
      'in front of screaming fans',
    ],
    themes: ['celebrity news', 'the box office', 'award shows', 'the music charts'],
  },
  'food & drink': {
    who: [
      'a celebrity chef',
      'a neighbourhood restaurant',
      'a small winery',
      'a home baker',
      'a popular cocktail bar',
    ],
    does: [
      'shared a recipe for an easy dessert',
      'launched a new brunch menu',
      'won praise for its house wine',
      'taught a class on baking bread',
      'created a cocktail with seasonal flavors',
    ],
    where: [
      'in a busy kitchen',
      'at a weekend food festival',
      'in time for holiday baking',
      'at a crowded brunch spot',
    ],
    themes: ['new recipes', 'restaurant trends', 'the cocktail scene', 'comfort food'],
  },
  'science & technology': {
    who: [
      'a team of scientists',
      'a software startup',
      'a major smartphone maker',
      'researchers at a national laboratory',
      'engineers at a space agency',
    ],
    does: [
      'unveiled a faster smartphone',
      'published research on a new algorithm',
      'spotted a distant planet',
      'released a software update to fix a data leak',
      'built a gadget that reads brain signals',
    ],
    where: [
      'in a new laboratory',
      'at a technology conference',
      'after years of research',
      'using huge amounts of data',
    ],
    themes: ['new gadgets', 'scientific research', 'artificial intelligence', 'data privacy'],
  },
  business: {
    who: [
      'a large retail company',
      'the new CEO of a bank',
      'investors',
      'a struggling car maker',
      'a food delivery firm',
    ],
    does: [
      'reported record profits',
      'announced a merger with a rival',
      'cut thousands of jobs in a wave of layoffs',
      'saw its shares fall sharply',
      'raised its revenue forecast',
    ],
    where: [
      'after a weak quarter',
      'on a busy day for the stock market',
      'ahead of its earnings report',
      'in a shaky market',
    ],
    themes: ['corporate earnings', 'the stock market', 'job cuts', 'company profits'],
  },
  sports: {
    who: [
      'the home team',
      'a veteran quarterback',
      'the top scorer in the league',
      'a new coach',
      'the defending champions',
    ],
    does: [
      'won a tense playoff game',
      'signed a record contract for next season',
      'scored twice in the final minutes',
      'clinched a spot in the championship',
      'lost at home in front of a packed stadium',
    ],
    where: ['in a sold-out stadium', 'late in the season', 'at the national tournament', 'in overtime'],
    themes: ['the playoffs', 'the championship race', 'team rivalries', 'the new season'],
  },
  'healthy living': {
    who: [
      'a fitness coach',
      'a sleep researcher',
      'a yoga teacher',
      'a nutrition expert',
      'a popular wellness app',
    ],
    does: [
      'shared a short daily workout',
      'explained how diet affects sleep',
      'offered tips to cut stress',
      'recommended a simple meditation routine',
      'showed how to build an exercise habit',
    ],
    where: ['for busy people', 'at a wellness retreat', 'after the holidays', 'in a crowded gym'],
    themes: ['fitness', 'better sleep', 'everyday wellness', 'healthy eating'],
  },
  women: {
    who: [
      'a feminist author',
      'groups for the rights of women',
      'a female engineer',
      'a group of working mothers',
      'a campaign for gender equality',
    ],
    does: [
      'spoke out against harassment at work',
      'called for equal pay',
      'celebrated the history of the suffrage movement',
      'launched a program to empower young women',
      'wrote about motherhood and sisterhood',
    ],
    where: [
      "on International Women's Day",
      'at a march for equality',
      'in a field long dominated by men',
      'after a wave of sexism claims',
    ],
    themes: ['gender equality', 'womanhood', 'the fight against sexism', 'the empowerment of women'],
  },
  politics: {
    who: [
      'a first-term senator',
      'the president',
      'democrats in congress',
      'republicans in the state house',
      'voters in swing states',
    ],
    does: [
      'pushed a new bill through congress',
      'launched a campaign for reelection',
      'blocked a vote on the budget policy',
      'drew record crowds at an election rally',
      'called for a new immigration policy',
    ],
    where: [
      'ahead of the election',
      'in a heated debate in congress',
      'on the campaign trail',
      'after a tight vote',
    ],
    themes: ['the election', 'party politics', 'government policy', 'the campaign'],
  },
  crime: {
    who: ['police', 'prosecutors', 'a local detective', 'the county sheriff', 'federal agents'],
    does: [
      'arrested two men after a bank robbery',
      'charged a suspect in a fatal shooting',
      'found the stolen car of a victim',
      'won a guilty verdict in a fraud trial',
      'opened an investigation into a string of burglaries',
    ],
    where: [
      'in a quiet neighborhood',
      'after a long investigation',
      'outside the county court',
      'late on a Saturday night',
    ],
    themes: ['policing', 'the court case', 'public safety', 'the investigation'],
  },
  'culture & arts': {
    who: ['a young painter', 'the city museum', 'a poet', 'a sculptor', 'a theater company'],
    does: [
      'opened an exhibition of modern art',
      'won a prize for a new poetry collection',
      'unveiled a giant sculpture in the park',
      'staged a bold new play',
      'restored a famous painting',
    ],
    where: [
      'at a downtown gallery',
      'during the arts festival',
      'in a historic theater',
      'in a packed museum hall',
    ],
    themes: ['the art world', 'poetry', 'theater', 'the gallery scene'],
  },
  religion: {
    who: ['a local church', 'the pope', 'a rabbi', 'an interfaith group', 'a mosque'],
    does: [
      'held a prayer service for the victims of a storm',
      'spoke about faith and forgiveness',
      'welcomed people of every belief',
      'celebrated a holy day',
      'called for peace between religions',
    ],
    where: ['during the holy month', 'at a packed cathedral', 'on Easter Sunday', 'in a small congregation'],
    themes: ['faith', 'prayer', 'religious freedom', 'spiritual life'],
  },
};

/** News articles from two categories' phrases (see MOVIE_TEMPLATES); who does what stays within a category. */
export const NEWS_TEMPLATES: readonly string[] = [
  '{WhoA} {doesA} {whereB}, {said}. {Next}, {whoB} {doesB}.',
  '{WhereB}, {whoA} {doesA}. The story has put {themesB} and {themesA} back in the headlines.',
  '{WhoB} {doesB} {whereB}. Experts say the move could shape {themesA} for years.',
  '{WhoA} {doesA}. {Next}, {whoB} {doesB} {whereA}. Readers have strong views on {themesA} and {themesB}.',
  '{WhoB} {doesB} {whereA}, {said}. It is the latest turn in {themesA}.',
];

export const NEWS_LINKS = {
  next: ['meanwhile', 'elsewhere', 'separately', 'in a related story', 'on the same day'],
  said: ['officials said', 'according to local reports', 'the news agency reported', 'a spokesperson said'],
} as const;
