// Defined in @oppu/contracts (no Node built-in, no tfjs: importable from a browser); core re-exports them.
export type {
  ChatMessage,
  ChatRenderOptions,
  ChatTemplate,
  ChatTemplateV1,
  ChatTool,
  ChatToolCall,
  ParsedToolCalls,
  ToolCallFormat,
} from '@oppu/contracts';
