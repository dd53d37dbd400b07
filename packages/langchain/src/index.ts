export { AnswerFilter } from './answer-filter.js';
export { type ChatQuestion, chatQuestion, type InputMode, messageText } from './chat-question.js';
export {
  createOppuChain,
  OPPU_CHAIN_PROMPT,
  type OppuChainInput,
  type OppuChainOptions,
  serviceMemory,
} from './create-oppu-chain.js';
export { createTestOppu, type TestOppu, type TestOppuOptions } from './create-test-oppu.js';
export { GenerateBatch } from './generate-batch.js';
export {
  CHAT_SAMPLING,
  OppuChatModel,
  type OppuChatModelCallOptions,
  type OppuChatModelInput,
  type OppuChatModelSettings,
} from './oppu-chat-model.js';
