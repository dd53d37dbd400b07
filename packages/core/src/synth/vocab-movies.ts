/**
 * LaMP-2M: what a movie with a given tag is made of, as phrases that slot into a description. `who` is a
 * singular noun phrase, `does` a verb phrase in the present tense (third person singular), `where` an adverbial
 * phrase, `themes` a noun phrase that follows "mixes" or "a story of". Each tag's own words (spaceship, heist,
 * funeral...) run through its phrases, so a retriever or a model can learn which words go with which tag.
 */
import type { Lamp2MTag } from '../lamp/labels.js';
import type { FacetPhrases } from './vocab.js';

export const MOVIE_TAG_PHRASES: Readonly<Record<Lamp2MTag, FacetPhrases>> = {
  'sci-fi': {
    who: [
      'a lonely android',
      'the captain of a failing starship',
      'an alien refugee',
      'a cyborg mechanic',
      'a young colony pilot',
    ],
    does: [
      'picks up a strange signal from across the galaxy',
      'has to repair the spaceship before the air runs out',
      'befriends a robot that wants to be human',
      'leads a colony to an uncharted planet',
      'fights off an alien invasion with a stolen laser',
    ],
    where: [
      'on a mining colony at the edge of the galaxy',
      'aboard a drifting starship',
      'on a planet with two suns',
      'in a city run by robots',
    ],
    themes: ['laser battles', 'alien worlds', 'robot uprisings', 'spaceship chases'],
  },
  'based on a book': {
    who: [
      'a shy librarian',
      'a struggling author',
      'the heir of a literary family',
      'a young governess',
      'a retired professor of literature',
    ],
    does: [
      'finds a lost manuscript in an old attic',
      'writes a memoir that reopens old wounds',
      'follows a family saga across three generations',
      'lives out the chapters of a forgotten novel',
      'tracks down the author of a bestseller',
    ],
    where: [
      'in a faithful adaptation of a bestselling novel',
      'across the pages of a sprawling family saga',
      'in a quiet literary town',
      'in an adaptation of a celebrated memoir',
    ],
    themes: [
      'literary rivalries',
      'page-turning suspense',
      'a saga told chapter by chapter',
      'the spirit of the original novel',
    ],
  },
  comedy: {
    who: [
      'a clumsy wedding planner',
      'a goofy roommate',
      'an awkward substitute teacher',
      'a hapless pizza courier',
      'a grandfather who loves a good prank',
    ],
    does: [
      'turns a simple errand into one mishap after another',
      "accidentally ruins a best friend's wedding",
      'pulls a prank that gets out of hand',
      'pretends to be a famous chef for a week',
      'makes the same awkward blunder again and again',
    ],
    where: [
      'in a chaotic shared apartment',
      'at a wedding where everything goes wrong',
      'in a sleepy suburb full of odd neighbours',
      'during the worst family holiday ever',
    ],
    themes: ['slapstick jokes', 'hilarious mishaps', 'awkward family dinners', 'goofy pranks'],
  },
  action: {
    who: [
      'a retired commando',
      'a getaway driver',
      'a former mercenary',
      'a stunt double',
      'a rookie bodyguard',
    ],
    does: [
      'leads a daring rescue behind enemy lines',
      'plans one last heist',
      'survives a gunfight on a speeding train',
      'races through the city in a high-speed chase',
      'faces an old enemy in a final showdown',
    ],
    where: [
      'in a city shaken by explosions',
      'on a hijacked cargo ship',
      'across rooftops and crowded markets',
      'in the middle of a mercenary war',
    ],
    themes: ['explosive stunts', 'car chases', 'gunfights', 'a breathless pursuit'],
  },
  'twist ending': {
    who: [
      'a quiet detective',
      'a woman with a hidden past',
      'a stranger who knows too much',
      'a traveller who has lost his memory',
      'a maker of puzzles',
    ],
    does: [
      'follows a trail of clues to a shocking reveal',
      'keeps a secret that changes everything',
      'tries to solve a riddle left by a dead friend',
      'uncovers the true identity of a neighbour',
      'falls for a clever deception',
    ],
    where: [
      'in a town where nothing is what it seems',
      'in a hotel full of hidden rooms',
      'over one mysterious night',
      'in a house with a locked door',
    ],
    themes: ['an unexpected reveal', 'hidden clues', 'a mystery that keeps you guessing', 'a final twist'],
  },
  dystopia: {
    who: [
      'a young rebel',
      'a factory worker under constant surveillance',
      'a former writer of state propaganda',
      'a smuggler of food rations',
      'a soldier of the regime',
    ],
    does: [
      'joins an uprising against a totalitarian regime',
      'breaks the curfew to find a missing brother',
      'exposes the lies of state propaganda',
      'escapes into the wasteland beyond the wall',
      'plans a rebellion against the ruling council',
    ],
    where: [
      'after the collapse of civilisation',
      'in a city watched by surveillance cameras',
      'in a wasteland where water is rationed',
      'under a regime that bans books',
    ],
    themes: ['rebellion', 'surveillance', 'a bleak wasteland', 'the collapse of society'],
  },
  'dark comedy': {
    who: [
      'a cynical undertaker',
      'a bored mortician',
      'a family fighting over an inheritance',
      'a morbid insurance clerk',
      'a widow with a scheme',
    ],
    does: [
      'hides a corpse to collect an inheritance',
      'stages a funeral for a man who is not dead',
      'hatches an absurd scheme to get rich',
      'turns every funeral into a morbid farce',
      'makes gallows jokes at every wake',
    ],
    where: [
      'in a funeral home that is going broke',
      'in a small town obsessed with death',
      'at the reading of a will',
      'in a cemetery on a stormy night',
    ],
    themes: ['gallows humour', 'morbid jokes', 'absurd schemes', 'cynical laughs'],
  },
  classic: {
    who: [
      'a legendary film star',
      'a golden-age crooner',
      'a young dancer',
      'a silver-screen detective',
      'a studio mogul',
    ],
    does: [
      'dances through a timeless love story',
      'returns to the studio for one final picture',
      'rises to fame in the golden era of film',
      'hosts a glamorous ballroom gala',
      'shoots a monochrome masterpiece',
    ],
    where: [
      'in the golden era of Hollywood',
      'in a grand ballroom',
      'on a vintage studio lot',
      'in timeless black and white',
    ],
    themes: ['timeless glamour', 'vintage charm', 'golden-era style', 'legendary performances'],
  },
  psychology: {
    who: [
      'a troubled therapist',
      'a patient with insomnia',
      'a detective haunted by trauma',
      'a woman who cannot trust her memory',
      'a psychiatrist with an obsession',
    ],
    does: [
      'slips into paranoia after a recurring dream',
      'tries to recover a lost memory',
      'becomes obsessed with a voice on the radio',
      'starts to doubt every thought in the mind',
      'cannot tell a dream from reality',
    ],
    where: [
      'inside a crumbling mind',
      'in a sleepless city',
      'in the office of a therapist',
      'in a clinic for patients with memory loss',
    ],
    themes: ['paranoia', 'obsession', 'buried trauma', 'the limits of memory'],
  },
  fantasy: {
    who: [
      'a young wizard',
      'an elf archer',
      'an exiled sorcerer',
      'a farm girl with a prophecy',
      'a dragon rider',
    ],
    does: [
      'sets out on a quest for an enchanted sword',
      'has to break an ancient spell',
      'defends the kingdom from a dragon',
      'fulfils a prophecy',
      'storms a castle held by a dark sorcerer',
    ],
    where: [
      'in an enchanted kingdom',
      'in a castle above the clouds',
      'in a forest full of elves',
      'in a land of dragons and magic',
    ],
    themes: ['magic spells', 'dragons', 'an epic quest', 'enchanted forests'],
  },
  romance: {
    who: [
      'a young couple',
      'a hopeless romantic',
      'a widowed baker',
      'a pair of childhood sweethearts',
      'a travelling violinist',
    ],
    does: [
      'falls in love with a stranger',
      'plans the perfect proposal',
      'searches for a long-lost sweetheart',
      'shares a first kiss in the rain',
      'gets a second chance at love',
    ],
    where: [
      'in a city made for lovers',
      'during a long summer of courtship',
      'in a seaside village',
      'through letters full of longing',
    ],
    themes: ['love', 'longing', 'a slow-burning courtship', 'a tender love affair'],
  },
  'thought-provoking': {
    who: [
      'a philosophy teacher',
      'a judge with a moral dilemma',
      'a scientist with a guilty conscience',
      'a monk',
      'a dying man',
    ],
    does: [
      'questions the meaning of existence',
      'faces a choice with no right answer',
      "wrestles with the ethics of a life's work",
      'searches for the truth after a loss',
      'reflects on every choice made along the way',
    ],
    where: [
      'in a quiet mountain monastery',
      'in a courtroom where every answer matters',
      'on a long walk through the desert',
      'in the last days of a long life',
    ],
    themes: ['moral questions', 'philosophy', 'quiet reflection', 'questions of conscience'],
  },
  'social commentary': {
    who: [
      'a factory worker',
      'a young journalist',
      'a family in a struggling suburb',
      'an immigrant cleaner',
      'a union organiser',
    ],
    does: [
      'fights for fair pay at a failing factory',
      'exposes racism in a small-town police force',
      'leads a protest against poverty wages',
      'shows how the media shapes society',
      'confronts class inequality at a wealthy school',
    ],
    where: [
      'in a divided suburb',
      'in a society split by class',
      'in a town the economy left behind',
      'amid a wave of protests',
    ],
    themes: ['class inequality', 'injustice', 'the power of the media', 'protest against poverty'],
  },
  violence: {
    who: ['a brutal gang leader', 'a hitman', 'a killer on the run', 'a former boxer', 'a savage enforcer'],
    does: [
      'seeks bloody revenge on the gang that betrayed him',
      'leaves a trail of carnage',
      'survives a massacre',
      'hunts down the men behind a murder',
      'wages a savage war on a rival gang',
    ],
    where: [
      'in a city ruled by gangs',
      'on blood-soaked streets',
      'in a lawless border town',
      'in a prison full of killers',
    ],
    themes: ['brutal fights', 'bloodshed', 'savage revenge', 'gang violence'],
  },
  'true story': {
    who: [
      'a war veteran',
      'a real-life survivor',
      'a pioneering doctor',
      'a young athlete',
      'a whistleblower',
    ],
    does: [
      'survives a historical disaster',
      'tells the real story of a famous trial',
      'fights to have a testimony heard',
      'takes part in a rescue that made history',
      'lives through the actual events of the war',
    ],
    where: [
      'in a story based on real events',
      'in this biography of a forgotten hero',
      'in a drama drawn from documented testimony',
      'in a faithful chronicle of historical events',
    ],
    themes: ['real events', 'a remarkable biography', 'historical drama', 'the story of a survivor'],
  },
};

/**
 * Movie descriptions from two tags' phrases: `{who}` etc. of the tag called `a`, `{whoB}` etc. of `b`. Every
 * template uses both tags, and which tag is `a` is drawn per description.
 */
export const MOVIE_TEMPLATES: readonly string[] = [
  '{WhoA} {doesB} {whereA}. {Next}, {whoB} {doesA}.',
  '{WhereB}, {whoA} {doesA}. The film mixes {themesA} with {themesB}.',
  '{WhoB} {doesB}. But when {whoA} {doesA}, {stakes}.',
  '{WhoA} {doesA} {whereB}. Expect {themesB} and {themesA}.',
  '{WhoA} {doesA} {whereA}. {Next}, {whoB} {doesB}. A story of {themesA} and {themesB}.',
  '{WhoB} {doesA} {whereB}. Along the way come {themesA} and {themesB}.',
];

export const MOVIE_LINKS = {
  next: ['along the way', 'soon', 'before long', 'meanwhile', 'at the same time'],
  stakes: ['everything changes', 'nothing goes as planned', 'the stakes rise', 'old certainties fall apart'],
} as const;
