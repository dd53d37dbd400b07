import * as contracts from '@oppu/contracts';
import { describe, expect, it } from 'vitest';
import * as core from '../index.js';

describe('core re-exports @oppu/contracts', () => {
  it('the same OppuError class, so instanceof holds across packages', () => {
    expect(core.OppuError).toBe(contracts.OppuError);
    expect(() => core.userId('a b')).toThrow(contracts.OppuError);
    // Every value of the contracts package is one of core's (types are checked by tsc on every package).
    expect(Object.keys(contracts).filter((k) => !(k in core))).toEqual([]);
  });
});
