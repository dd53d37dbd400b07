/**
 * Phrase banks for the synthetic data: what a movie, an article, a paper, a review, a headline, an email or a
 * tweet is made of, so the generated text reads as English and its words still say which label, field or
 * sentiment it belongs to. Movies and news categories are in `vocab-movies.ts` and `vocab-news.ts`.
 */

/**
 * One facet (a movie tag, a news category) as phrases: `who` (a noun phrase), `does` (a verb phrase), `where`
 * (an adverbial phrase) and `themes` (a noun phrase). Templates join the phrases of two facets.
 */
export interface FacetPhrases {
  readonly who: readonly string[];
  readonly does: readonly string[];
  readonly where: readonly string[];
  readonly themes: readonly string[];
}

/**
 * Research fields for LaMP-1 (citation) and LaMP-5 (titles): words of the field, `phrases` that name problems
 * in it, `tools` (techniques), `challenges` (what makes the problems hard) and `benchmarks` (what it is
 * evaluated on).
 */
export interface ResearchField {
  readonly name: string;
  readonly words: readonly string[];
  readonly phrases: readonly string[];
  readonly tools: readonly string[];
  readonly challenges: readonly string[];
  readonly benchmarks: readonly string[];
}

export const RESEARCH_FIELDS: readonly ResearchField[] = [
  {
    name: 'graph learning',
    words: ['graph', 'node', 'edge', 'embedding', 'message', 'neighborhood'],
    phrases: ['graph neural networks', 'node classification', 'link prediction', 'graph embeddings'],
    tools: ['message passing', 'neighborhood sampling', 'learned edge weights', 'node embeddings'],
    challenges: [
      'over-smoothing in deep graph networks',
      'noisy or missing edges',
      'graphs with millions of nodes',
      'graphs that change over time',
    ],
    benchmarks: ['citation graphs', 'social networks', 'molecule graphs'],
  },
  {
    name: 'databases',
    words: ['query', 'index', 'transaction', 'join', 'storage', 'schema'],
    phrases: ['query optimization', 'transaction processing', 'index structures', 'join algorithms'],
    tools: ['learned cost models', 'learned indexes', 'query rewriting', 'adaptive join ordering'],
    challenges: [
      'skewed data',
      'many concurrent transactions',
      'schemas with hundreds of tables',
      'slow storage',
    ],
    benchmarks: ['TPC-H queries', 'join order benchmarks', 'real query logs'],
  },
  {
    name: 'computer vision',
    words: ['image', 'pixel', 'segmentation', 'detection', 'camera', 'visual'],
    phrases: ['object detection', 'image segmentation', 'visual tracking', 'scene understanding'],
    tools: [
      'attention over image patches',
      'multi-scale features',
      'pixel-level labels',
      'camera calibration',
    ],
    challenges: ['occluded objects', 'poor lighting', 'small objects', 'blurry camera images'],
    benchmarks: ['image detection benchmarks', 'street scene datasets', 'video clips'],
  },
  {
    name: 'language',
    words: ['text', 'language', 'parsing', 'translation', 'corpus', 'token'],
    phrases: ['machine translation', 'dependency parsing', 'language modeling', 'text summarization'],
    tools: ['pretrained language models', 'attention over tokens', 'parallel corpora', 'syntactic parsing'],
    challenges: ['rare words', 'long documents', 'low-resource languages', 'noisy text'],
    benchmarks: ['translation benchmarks', 'news corpora', 'question answering datasets'],
  },
  {
    name: 'networking',
    words: ['packet', 'routing', 'latency', 'bandwidth', 'protocol', 'wireless'],
    phrases: ['congestion control', 'wireless routing', 'packet scheduling', 'network measurement'],
    tools: ['packet-level simulation', 'adaptive routing tables', 'bandwidth estimation', 'latency probes'],
    challenges: ['bursty traffic', 'lossy wireless links', 'high latency', 'congested data center links'],
    benchmarks: ['campus network traces', 'wide-area testbeds', 'wireless testbeds'],
  },
  {
    name: 'security',
    words: ['attack', 'encryption', 'privacy', 'malware', 'adversary', 'authentication'],
    phrases: ['malware detection', 'privacy preservation', 'secure authentication', 'side channel attacks'],
    tools: ['anomaly detection', 'lightweight encryption', 'formal verification', 'trusted hardware'],
    challenges: ['adaptive adversaries', 'leaky hardware', 'weak passwords', 'obfuscated malware'],
    benchmarks: ['real malware samples', 'recorded attack traces', 'authentication logs'],
  },
  {
    name: 'robotics',
    words: ['robot', 'manipulation', 'grasping', 'locomotion', 'sensor', 'actuator'],
    phrases: ['robotic grasping', 'legged locomotion', 'motion planning', 'sensor fusion'],
    tools: [
      'tactile sensors',
      'reinforcement learning',
      'model predictive control',
      'learned grasp planners',
    ],
    challenges: ['uneven terrain', 'unknown objects', 'noisy sensors', 'slow actuators'],
    benchmarks: ['real robot arms', 'legged robots', 'simulated warehouses'],
  },
  {
    name: 'theory',
    words: ['complexity', 'approximation', 'bound', 'algorithm', 'hardness', 'proof'],
    phrases: ['approximation algorithms', 'lower bounds', 'online algorithms', 'parameterized complexity'],
    tools: ['linear programming', 'randomized rounding', 'potential functions', 'hardness reductions'],
    challenges: ['worst-case inputs', 'NP-hard problems', 'adversarial arrivals', 'loose bounds'],
    benchmarks: ['classic scheduling problems', 'random instances', 'hard graph problems'],
  },
  {
    name: 'systems',
    words: ['cluster', 'scheduler', 'memory', 'cache', 'distributed', 'kernel'],
    phrases: ['distributed scheduling', 'cache management', 'fault tolerance', 'memory disaggregation'],
    tools: ['workload-aware scheduling', 'smart caching', 'memory pooling', 'lightweight checkpointing'],
    challenges: ['machine failures', 'skewed workloads', 'limited memory', 'long tail latency'],
    benchmarks: ['production clusters', 'cloud workloads', 'key-value stores'],
  },
  {
    name: 'information retrieval',
    words: ['retrieval', 'ranking', 'search', 'relevance', 'recommendation', 'click'],
    phrases: ['learning to rank', 'dense retrieval', 'query expansion', 'recommender systems'],
    tools: ['dense embeddings', 'click models', 'query rewriting', 'neural rankers'],
    challenges: ['sparse clicks', 'ambiguous queries', 'users with no history', 'huge collections'],
    benchmarks: ['web search logs', 'product search data', 'recommendation datasets'],
  },
];

export const METHOD_WORDS = [
  'contrastive',
  'hierarchical',
  'probabilistic',
  'adaptive',
  'sparse',
  'scalable',
  'robust',
  'incremental',
  'federated',
  'self-supervised',
] as const;

/**
 * LaMP-3: how a review sounds at each true quality (index 0 = 1 star ... 4 = 5 stars): adjectives for "it is
 * {adjective}" and whole sentences (`{product}` is the product).
 */
export const SENTIMENT: readonly {
  readonly adjectives: readonly string[];
  readonly sentences: readonly string[];
}[] = [
  {
    adjectives: ['terrible', 'useless', 'awful', 'defective', 'worthless'],
    sentences: [
      'It broke after two days.',
      'I asked for a refund right away.',
      'It is a complete waste of money.',
      'Honestly the worst {product} I have ever owned.',
      'It arrived defective and never worked.',
      'Everything about it is awful.',
    ],
  },
  {
    adjectives: ['disappointing', 'flimsy', 'mediocre', 'cheap', 'poor'],
    sentences: [
      'I returned it after a week.',
      'It feels cheap and flimsy.',
      'It gets annoying to use after a while.',
      'The quality is poor for the price.',
      'Meh, I expected more from this {product}.',
      'A disappointing buy, to be honest.',
    ],
  },
  {
    adjectives: ['okay', 'average', 'decent', 'fine', 'acceptable'],
    sentences: [
      'It does what I expected, nothing more.',
      'It is fine for everyday use.',
      'My feelings about it are mixed.',
      'Decent, but nothing special.',
      'It is alright for the price.',
      'An average {product}, about what you would expect.',
    ],
  },
  {
    adjectives: ['good', 'solid', 'nice', 'reliable', 'sturdy'],
    sentences: [
      'It works well and I am happy with it.',
      'I would recommend it to a friend.',
      'It feels solid and sturdy.',
      'Reliable so far, with only small flaws.',
      'A nice upgrade over my old {product}.',
      'Good value, and it works as promised.',
    ],
  },
  {
    adjectives: ['excellent', 'perfect', 'amazing', 'fantastic', 'outstanding'],
    sentences: [
      'I love it.',
      'The best {product} I have ever owned.',
      'It has been flawless from day one.',
      'Absolutely perfect, I would buy it again.',
      'Outstanding quality for the price.',
      'An amazing {product}, I recommend it to everyone.',
    ],
  },
];

/** LaMP-3: how a review opens and closes (`{product}`; `{adjective}` is drawn from a sentiment level). */
export const REVIEW_OPENERS = [
  'I bought this {product} last month and it is {adjective}.',
  'Got this {product} as a gift, and it is {adjective}.',
  'I have used this {product} for a few weeks now: {adjective}.',
  'Ordered this {product} after reading the reviews, and it is {adjective}.',
] as const;
export const REVIEW_CLOSERS = [
  'Overall, the {product} is {adjective}.',
  'All in all: {adjective}.',
  'In short, this {product} is {adjective}.',
  'My verdict: {adjective}.',
] as const;

export const PRODUCTS = [
  'blender',
  'pair of headphones',
  'backpack',
  'charger',
  'kettle',
  'lamp',
  'keyboard',
  'mattress',
  'vacuum',
  'camera',
  'jacket',
  'router',
  'skillet',
  'desk chair',
  'toaster',
  'drill',
] as const;

/** LaMP-4: headline facts. Each event has verb synonyms; a user's style picks one per event. */
export const NEWS_SUBJECTS = [
  'city council',
  'school board',
  'state senate',
  'local hospital',
  'tech startup',
  'county sheriff',
  'teachers union',
  'mayor',
  'university',
  'transit agency',
  'health department',
  'federal judge',
  'airline',
  'museum',
  'police chief',
] as const;
export const NEWS_EVENTS: readonly { object: readonly string[]; verbs: readonly string[] }[] = [
  {
    object: ['budget', 'new tax', 'housing plan', 'stadium deal'],
    verbs: ['approves', 'passes', 'backs', 'greenlights'],
  },
  {
    object: ['strike', 'lawsuit', 'protest', 'investigation'],
    verbs: ['faces', 'confronts', 'battles', 'braces for'],
  },
  {
    object: ['new policy', 'merger', 'expansion', 'reform'],
    verbs: ['announces', 'unveils', 'reveals', 'rolls out'],
  },
  { object: ['ban', 'proposal', 'contract', 'mandate'], verbs: ['rejects', 'blocks', 'kills', 'scraps'] },
  { object: ['funding', 'grant', 'settlement', 'award'], verbs: ['wins', 'secures', 'lands', 'gets'] },
];

/** LaMP-4: what an article says after its first sentence (`{subject}`, `{object}`, `{city}` of the event). */
export const HEADLINE_FOLLOW_UPS = [
  'Supporters of the {object} called it a long overdue step.',
  'Critics of the {object} plan to speak at the next public meeting.',
  'A spokesperson for the {subject} declined to comment further.',
  'The {subject} is expected to say more about the {object} next week.',
  'Residents of {city} are divided over the {object}.',
] as const;

/** LaMP-6: email facts. */
export const EMAIL_TOPICS = [
  'budget review',
  'quarterly report',
  'team meeting',
  'contract draft',
  'project update',
  'travel request',
  'server upgrade',
  'hiring plan',
  'client call',
  'product launch',
  'offsite agenda',
  'invoice review',
] as const;
export const EMAIL_ACTIONS: readonly (readonly string[])[] = [
  ['moved to', 'rescheduled to', 'pushed to', 'shifted to'],
  ['needs review by', 'due', 'awaiting sign-off by', 'to finish by'],
  ['notes from', 'summary from', 'recap of', 'minutes from'],
];
/** LaMP-6: how an email greets, what it adds after its news (`{topic}`), how it signs off. */
export const EMAIL_GREETINGS = ['Hi all,', 'Hello team,', 'Hi everyone,'] as const;
export const EMAIL_LINES = [
  'Please take a look at the attached notes on the {topic} before then.',
  'Let me know if this does not work for you.',
  'I will send an update on the {topic} after that.',
  'Please reply with any questions about the {topic}.',
  'The latest draft is attached for review.',
  'Thanks for your patience with the schedule.',
] as const;
export const EMAIL_SIGN_OFFS = ['Thanks,', 'Best,', 'Cheers,'] as const;
export const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'] as const;

/** LaMP-7: everyday happenings a person tweets about. */
export const TWEET_ACTIVITIES = [
  'finished my morning run',
  'tried the new coffee place',
  'watched the game last night',
  'started a new book',
  'got stuck in traffic again',
  'baked bread for the first time',
  'cleaned out the garage',
  'saw a great concert',
  'missed the bus this morning',
  'adopted a puppy',
  'fixed the old bike',
  'cooked dinner for friends',
] as const;
export const TWEET_FEELINGS = [
  ['so happy', 'really happy', 'super happy', 'thrilled'],
  ['so tired', 'really tired', 'exhausted', 'wiped out'],
  ['kind of proud', 'pretty proud', 'so proud', 'proud'],
] as const;
