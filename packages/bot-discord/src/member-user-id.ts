import { OppuError, type UserId, userId } from '@oppu/core';

const SNOWFLAKE = /^\d{1,20}$/;

/**
 * The oppu user id of a member in one server: `g<guild id>_m<member id>`. Identity is the pair, so the same
 * person in two servers has two separate histories, profiles and adapters.
 */
export function memberUserId(guildId: string, memberId: string): UserId {
  if (!SNOWFLAKE.test(guildId)) {
    throw new OppuError(
      'invalid_guild_id',
      `guild id ${JSON.stringify(guildId)} is not a Discord snowflake (digits)`,
    );
  }
  if (!SNOWFLAKE.test(memberId)) {
    throw new OppuError(
      'invalid_member_id',
      `member id ${JSON.stringify(memberId)} is not a Discord snowflake (digits)`,
    );
  }
  return userId(`g${guildId}_m${memberId}`, 'member');
}
