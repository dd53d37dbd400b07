import type { AdapterMetadata, PeftConfig } from '@oppu/core';
import { OppuError, userId } from '@oppu/core';
import { peftMethods } from '@oppu/trainer';

/** Parses and checks an `oppu_meta.json`; `file` names it in errors. */
export function parseAdapterMetadata(text: string, file: string): AdapterMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new OppuError('adapter_corrupt', `${file}: not valid JSON`, { cause: error });
  }
  const fail = (field: string, what: string): never => {
    throw new OppuError('adapter_corrupt', `${file}: field "${field}" ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('(root)', 'must be an object');
  const m = raw as Record<string, unknown>;
  const str = (k: string) => (typeof m[k] === 'string' ? (m[k] as string) : fail(k, 'must be a string'));
  const version = m.version;
  if (!Number.isInteger(version) || (version as number) < 1) fail('version', 'must be a positive integer');
  const base = m.baseModel as Record<string, unknown> | undefined;
  if (
    typeof base !== 'object' ||
    base === null ||
    typeof base.name !== 'string' ||
    typeof base.hash !== 'string'
  ) {
    fail('baseModel', 'must be {name, hash} strings');
  }
  const peft = m.peft as Record<string, unknown> | undefined;
  if (typeof peft !== 'object' || peft === null || !peftMethods.get(peft.method as string)) {
    fail('peft', `must be a PEFT config with a registered method (${peftMethods.names().join(', ')})`);
  }
  const sha = str('sha256');
  if (!/^[0-9a-f]{64}$/.test(sha)) fail('sha256', 'must be 64 hex digits');
  let user: AdapterMetadata['userId'];
  try {
    user = userId(m.userId, `${file}: userId`);
  } catch (error) {
    throw new OppuError('adapter_corrupt', (error as Error).message);
  }
  if (m.parent !== undefined && !Number.isInteger(m.parent)) fail('parent', 'must be an integer');
  return {
    userId: user,
    version: version as number,
    task: str('task'),
    baseModel: { name: base!.name as string, hash: base!.hash as string },
    peft: peft as unknown as PeftConfig,
    ...(m.training !== undefined ? { training: m.training as AdapterMetadata['training'] } : {}),
    createdAt: str('createdAt'),
    ...(m.parent !== undefined ? { parent: m.parent as number } : {}),
    sha256: sha,
  };
}
