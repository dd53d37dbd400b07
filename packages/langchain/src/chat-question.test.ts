import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { formatLampInput, LAMP_TASKS, OppuError } from '@oppu/core';
import { describe, expect, it } from 'vitest';
import { chatQuestion } from './chat-question.js';

const task = LAMP_TASKS.LaMP_7;
const taskInput = formatLampInput('LaMP_7', { text: 'coffee first, then the world' });

describe('chatQuestion', () => {
  it('reads a task input string as the task question in auto and task mode', () => {
    expect(chatQuestion([new HumanMessage(taskInput)], task, 'auto')).toEqual({
      kind: 'task',
      input: taskInput,
    });
    expect(chatQuestion([new SystemMessage('be brief'), new HumanMessage(taskInput)], task, 'task')).toEqual({
      kind: 'task',
      input: taskInput,
    });
  });

  it('reads free text as chat in auto mode, and refuses it in task mode', () => {
    expect(chatQuestion([new HumanMessage('how was my week?')], task, 'auto')).toEqual({
      kind: 'chat',
      input: {
        text: 'how was my week?',
        query: 'how was my week?',
        messages: [{ role: 'user', content: 'how was my week?' }],
      },
    });
    expect(() => chatQuestion([new HumanMessage('how was my week?')], task, 'task')).toThrow(OppuError);
  });

  it('chat mode answers even a task input string as free text', () => {
    expect(chatQuestion([new HumanMessage(taskInput)], task, 'chat')).toEqual({
      kind: 'chat',
      input: { text: taskInput, query: taskInput, messages: [{ role: 'user', content: taskInput }] },
    });
  });

  it('puts system text first and writes earlier turns as labelled lines, ranked by the question alone', () => {
    const q = chatQuestion(
      [
        new SystemMessage('You write short tweets.'),
        new HumanMessage('hi'),
        new AIMessage('hello!'),
        new HumanMessage([
          { type: 'text', text: 'write one about ' },
          { type: 'text', text: 'rain' },
        ]),
      ],
      task,
      'auto',
    );
    expect(q).toEqual({
      kind: 'chat',
      input: {
        text: 'You write short tweets.\nUser: hi\nAssistant: hello!\nUser: write one about rain\nAssistant:',
        query: 'write one about rain',
        // The same conversation for an instruct model's chat template.
        messages: [
          { role: 'system', content: 'You write short tweets.' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello!' },
          { role: 'user', content: 'write one about rain' },
        ],
      },
    });
    expect(chatQuestion([new SystemMessage('S'), new HumanMessage('Q')], task, 'chat')).toEqual({
      kind: 'chat',
      input: {
        text: 'S\nQ',
        query: 'Q',
        messages: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Q' },
        ],
      },
    });
  });

  it('says what is wrong with messages it cannot read', () => {
    expect(() => chatQuestion([new SystemMessage('only system')], task, 'auto')).toThrow(
      /no human message|none of the 1/,
    );
    expect(() => chatQuestion([new HumanMessage('q'), new AIMessage('a')], task, 'auto')).toThrow(
      /message 1 \(ai\) comes after the last human message/,
    );
    expect(() =>
      chatQuestion(
        [new ToolMessage({ content: 'x', tool_call_id: '1' }), new HumanMessage('q')],
        task,
        'auto',
      ),
    ).toThrow(/message 0 is a tool message/);
    expect(() =>
      chatQuestion(
        [new HumanMessage([{ type: 'image_url', image_url: { url: 'https://x/y.png' } }])],
        task,
        'auto',
      ),
    ).toThrow(/content block 0 is of type "image_url"/);
  });
});
