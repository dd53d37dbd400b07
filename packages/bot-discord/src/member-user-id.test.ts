import { OppuError } from '@oppu/core';
import { describe, expect, it } from 'vitest';
import { memberUserId } from './member-user-id.js';

describe('memberUserId', () => {
  it('is the (server, member) pair, so one person has a separate identity per server', () => {
    const a = memberUserId('1100000000000000010', '1200000000000000001');
    const b = memberUserId('1100000000000000011', '1200000000000000001');
    expect(a).toBe('g1100000000000000010_m1200000000000000001');
    expect(a).not.toBe(b);
    expect(memberUserId('18446744073709551615', '18446744073709551615').length).toBeLessThanOrEqual(64);
  });

  it('accepts only snowflakes', () => {
    expect(() => memberUserId('../x', '1')).toThrow(OppuError);
    expect(() => memberUserId('1', '1_m2')).toThrow(/member id "1_m2" is not a Discord snowflake/);
  });
});
