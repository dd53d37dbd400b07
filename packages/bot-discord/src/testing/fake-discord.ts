import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationCommandOptionType, Client, type ClientOptions } from 'discord.js';

/**
 * A loopback stand-in for Discord's HTTP API and CDN, for tests of a bot built on the real discord.js
 * `Client`: the client's REST `api` points here, interactions are dispatched as raw gateway payloads, and
 * every request the bot makes is recorded (JSON bodies, multipart files) for assertions.
 */

/** The parts of a message body (or of an interaction callback's `data`) that tests look at. */
export interface MessageBody {
  readonly content?: string;
  readonly flags?: number;
  readonly components?: readonly {
    readonly components?: readonly { readonly custom_id?: string; readonly label?: string }[];
  }[];
  readonly embeds?: readonly unknown[];
  readonly attachments?: readonly { readonly id?: string | number; readonly filename?: string }[];
  readonly allowed_mentions?: { readonly parse?: readonly string[] };
}

/** A JSON body: a message, or an interaction callback `{type, data}`. */
export interface RecordedBody extends MessageBody {
  readonly type?: number;
  readonly data?: MessageBody;
}

/** One request the bot sent, with the route relative to `/api/v10`. */
export interface RecordedRequest {
  readonly method: string;
  readonly route: string;
  readonly query: URLSearchParams;
  /** JSON body (or `payload_json` of a multipart body). */
  readonly body: RecordedBody | undefined;
  readonly files: readonly { readonly field: string; readonly name: string; readonly bytes: Uint8Array }[];
  /** The interaction token or webhook token in the route, when there is one. */
  readonly token?: string;
  /** The Authorization header (`Bot <token>` on authenticated routes). */
  readonly authorization?: string;
}

export interface ServedFile {
  readonly url: string;
  /** Times it was requested. */
  requests: number;
  /** Bytes actually written before the client went away. */
  bytesSent: number;
}

const DISCORD_EPOCH = 1420070400000n;
let sequence = 0n;
/** A fresh, time-ordered Discord snowflake (18-19 digits). */
export function snowflake(): string {
  sequence = (sequence + 1n) % 4096n;
  return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | sequence).toString();
}

export const APPLICATION_ID = '1100000000000000001';

interface FileSpec {
  bytes: Uint8Array;
  served: ServedFile;
  /** Sent in chunks of this size with no Content-Length (a server that does not say how much comes). */
  chunked: boolean;
}

export class FakeDiscord {
  readonly requests: RecordedRequest[] = [];
  private readonly files = new Map<string, FileSpec>();
  private readonly waiters: {
    test: (r: RecordedRequest) => boolean;
    resolve: (r: RecordedRequest) => void;
  }[] = [];
  private readonly clients: Client[] = [];

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<FakeDiscord> {
    let self: FakeDiscord | undefined;
    const server = createServer((req, res) => {
      self!.serve(req, res).catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    self = new FakeDiscord(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** The `rest.api` option for discord.js. */
  get api(): string {
    return `${this.origin}/api`;
  }

  /** A real discord.js client whose REST calls come here; it never connects to the gateway. */
  client(options: Partial<ClientOptions> = {}): Client {
    const client = new Client({
      intents: [],
      ...options,
      rest: { api: this.api, retries: 0, timeout: 15_000, ...options.rest },
    });
    this.clients.push(client);
    return client;
  }

  /** Serves `bytes` at a CDN-like URL; `chunked` sends them without a Content-Length. */
  addFile(name: string, bytes: Uint8Array, options: { chunked?: boolean } = {}): ServedFile {
    const id = snowflake();
    const served: ServedFile = {
      url: `${this.origin}/attachments/${id}/${encodeURIComponent(name)}`,
      requests: 0,
      bytesSent: 0,
    };
    this.files.set(`/attachments/${id}/${encodeURIComponent(name)}`, {
      bytes,
      served,
      chunked: options.chunked ?? false,
    });
    return served;
  }

  /** Requests for one interaction (its callback and its webhook edits/follow-ups), in order. */
  forInteraction(token: string): RecordedRequest[] {
    return this.requests.filter((r) => r.token === token);
  }

  /** Resolves with the first recorded (or future) request that passes `test`. */
  waitFor(test: (r: RecordedRequest) => boolean, timeoutMs = 30_000): Promise<RecordedRequest> {
    const seen = this.requests.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`fake Discord: no matching request within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  async close(): Promise<void> {
    for (const client of this.clients) await client.destroy();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Like every HTTP surface of the project: only this process's own requests, not a DNS-rebinding page (whose
    // Host names its own domain) nor any other page (which sends an Origin; discord.js sends none).
    const foreignHost = req.headers.host !== new URL(this.origin).host;
    if (foreignHost || req.headers.origin !== undefined) {
      res.writeHead(foreignHost ? 421 : 403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          message: foreignHost
            ? `Host ${JSON.stringify(req.headers.host ?? '')} is not this server (${new URL(this.origin).host})`
            : 'requests from web pages are not allowed',
          code: 0,
        }),
      );
      return;
    }
    const url = new URL(req.url ?? '/', this.origin);
    const file = this.files.get(url.pathname);
    if (file) return this.serveFile(file, req, res);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const route = decodeURIComponent(url.pathname).replace(/^\/api\/v\d+/, '');
    const { body, files } = await parseBody(req, raw);
    const token =
      /^\/interactions\/\d+\/([^/]+)\/callback$/.exec(route)?.[1] ??
      /^\/webhooks\/\d+\/([^/]+)/.exec(route)?.[1];
    const authorization = req.headers.authorization;
    const recorded: RecordedRequest = {
      ...(authorization ? { authorization } : {}),
      method: req.method ?? 'GET',
      route,
      query: url.searchParams,
      body,
      files,
      ...(token ? { token } : {}),
    };
    this.requests.push(recorded);
    for (const w of [...this.waiters]) {
      if (w.test(recorded)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(recorded);
      }
    }
    const json = (status: number, data?: unknown): void => {
      res.statusCode = status;
      if (data === undefined) {
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(data));
    };
    if (/^\/interactions\/\d+\/[^/]+\/callback$/.test(route) && req.method === 'POST') return json(204);
    if (/^\/applications\/\d+(?:\/guilds\/\d+)?\/commands$/.test(route) && req.method === 'PUT') {
      const commands = Array.isArray(body) ? (body as unknown as { name: string }[]) : [];
      return json(
        200,
        commands.map((c) => ({
          ...c,
          id: snowflake(),
          application_id: APPLICATION_ID,
          version: snowflake(),
        })),
      );
    }
    const webhook = /^\/webhooks\/(\d+)\/[^/]+(?:\/messages\/(@original|\d+))?$/.exec(route);
    if (webhook) {
      if (req.method === 'DELETE') return json(204);
      return json(200, messageJson(body ?? {}, files));
    }
    return json(404, { message: `fake Discord has no route ${req.method} ${route}`, code: 0 });
  }

  private async serveFile(file: FileSpec, req: IncomingMessage, res: ServerResponse): Promise<void> {
    file.served.requests++;
    res.statusCode = 200;
    res.setHeader('content-type', 'application/octet-stream');
    if (!file.chunked) res.setHeader('content-length', String(file.bytes.byteLength));
    const size = 64 * 1024;
    for (let at = 0; at < file.bytes.byteLength; at += size) {
      if (req.destroyed || res.destroyed) return;
      const chunk = file.bytes.subarray(at, at + size);
      const ok = res.write(chunk);
      file.served.bytesSent += chunk.byteLength;
      if (!ok) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    res.end();
  }
}

async function parseBody(
  req: IncomingMessage,
  raw: Buffer,
): Promise<{ body: RecordedBody | undefined; files: RecordedRequest['files'] }> {
  const type = req.headers['content-type'] ?? '';
  if (raw.length === 0) return { body: undefined, files: [] };
  if (type.startsWith('multipart/form-data')) {
    const form = await new Request('http://fake.invalid/', {
      method: 'POST',
      headers: { 'content-type': type },
      body: raw,
    }).formData();
    let body: RecordedBody | undefined;
    const files: { field: string; name: string; bytes: Uint8Array }[] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') body = JSON.parse(value);
      } else {
        files.push({ field, name: value.name, bytes: new Uint8Array(await value.arrayBuffer()) });
      }
    }
    return { body, files };
  }
  if (type.startsWith('application/json')) return { body: JSON.parse(raw.toString('utf8')), files: [] };
  return { body: { content: raw.toString('utf8') }, files: [] };
}

function messageJson(body: RecordedBody, files: RecordedRequest['files']) {
  return {
    id: snowflake(),
    type: 20,
    channel_id: '1100000000000000900',
    content: body.content ?? '',
    author: {
      id: APPLICATION_ID,
      username: 'oppu',
      discriminator: '0000',
      global_name: null,
      avatar: null,
      bot: true,
    },
    attachments: files.map((f, i) => ({
      id: snowflake(),
      filename: body.attachments?.[i]?.filename ?? f.name,
      size: f.bytes.byteLength,
      url: `https://cdn.invalid/${f.name}`,
      proxy_url: `https://cdn.invalid/${f.name}`,
    })),
    embeds: body.embeds ?? [],
    components: body.components ?? [],
    mentions: [],
    mention_roles: [],
    mention_everyone: false,
    pinned: false,
    tts: false,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    flags: body.flags ?? 0,
  };
}

/** A member of a server, as the gateway describes them in an interaction. */
export interface FakeMember {
  readonly guildId: string;
  readonly userId: string;
  readonly username?: string;
}

export interface CommandOption {
  readonly name: string;
  readonly type: ApplicationCommandOptionType;
  readonly value: string | number | boolean;
}

export interface FakeAttachment {
  readonly filename: string;
  readonly size: number;
  readonly url: string;
}

const CHANNEL_ID = '1100000000000000900';

function memberJson(m: FakeMember) {
  const user = {
    id: m.userId,
    username: m.username ?? `user${m.userId.slice(-4)}`,
    discriminator: '0',
    global_name: null,
    avatar: null,
  };
  return {
    user,
    roles: [],
    joined_at: '2026-01-01T00:00:00.000Z',
    deaf: false,
    mute: false,
    flags: 0,
    permissions: '0',
  };
}

function base(m: FakeMember | { dmUserId: string }) {
  const id = snowflake();
  const token = `tok-${id}`;
  const where =
    'dmUserId' in m
      ? {
          user: { id: m.dmUserId, username: 'dm', discriminator: '0', global_name: null, avatar: null },
          channel: { id: CHANNEL_ID, type: 1 },
          channel_id: CHANNEL_ID,
          context: 1,
        }
      : {
          guild_id: m.guildId,
          member: memberJson(m),
          channel: { id: CHANNEL_ID, type: 0, guild_id: m.guildId, name: 'general' },
          channel_id: CHANNEL_ID,
          context: 0,
        };
  return {
    id,
    token,
    application_id: APPLICATION_ID,
    version: 1,
    locale: 'en-US',
    guild_locale: 'en-US',
    app_permissions: '0',
    entitlements: [],
    authorizing_integration_owners: {},
    attachment_size_limit: 26214400,
    ...where,
  };
}

/** A raw INTERACTION_CREATE payload for a slash command (`attachments` are resolved by option value = id). */
export function slashCommand(
  member: FakeMember | { dmUserId: string },
  name: string,
  options: readonly CommandOption[] = [],
  attachments: Readonly<Record<string, FakeAttachment>> = {},
) {
  const resolvedAttachments = Object.fromEntries(
    Object.entries(attachments).map(([id, a]) => [
      id,
      {
        id,
        filename: a.filename,
        size: a.size,
        url: a.url,
        proxy_url: a.url,
        content_type: 'application/zip',
      },
    ]),
  );
  return {
    ...base(member),
    type: 2,
    data: {
      id: '1100000000000000500',
      name,
      type: 1,
      options,
      ...(Object.keys(attachments).length > 0 ? { resolved: { attachments: resolvedAttachments } } : {}),
    },
  };
}

/** A raw INTERACTION_CREATE payload for a button click on a message the bot sent. */
export function buttonClick(member: FakeMember, customId: string) {
  return {
    ...base(member),
    type: 3,
    data: { custom_id: customId, component_type: 2 },
    message: {
      ...messageJson({ content: 'prompt', flags: 64 }, []),
      interaction_metadata: {
        id: snowflake(),
        type: 2,
        user: memberJson(member).user,
        authorizing_integration_owners: { '0': member.guildId },
      },
    },
  };
}

/** A raw MESSAGE_CREATE payload: a member's message in a server channel. */
export function memberMessage(member: FakeMember, content: string, options: { bot?: boolean } = {}) {
  const { user, ...memberFields } = memberJson(member);
  return {
    id: snowflake(),
    type: 0,
    channel_id: CHANNEL_ID,
    guild_id: member.guildId,
    author: { ...user, ...(options.bot ? { bot: true } : {}) },
    member: memberFields,
    content,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
  };
}

/** Internals a test reaches into to play the gateway's part. */
interface ClientInternals {
  actions: {
    InteractionCreate: { handle(data: unknown): void };
    MessageCreate: { handle(data: unknown): void };
  };
  guilds: { _add(data: unknown): unknown };
}

/** Delivers a raw interaction as the gateway would (the client emits `interactionCreate`). */
export function dispatchInteraction(client: Client, raw: unknown): void {
  (client as unknown as ClientInternals).actions.InteractionCreate.handle(raw);
}

/** Delivers a raw message as the gateway would; the guild and channel must be known (`addGuild`). */
export function dispatchMessage(client: Client, raw: unknown): void {
  (client as unknown as ClientInternals).actions.MessageCreate.handle(raw);
}

/** Puts a server with one text channel in the client's cache, as GUILD_CREATE would. */
export function addGuild(client: Client, guildId: string): void {
  (client as unknown as ClientInternals).guilds._add({
    id: guildId,
    name: `server ${guildId.slice(-4)}`,
    icon: null,
    owner_id: '1100000000000000002',
    roles: [],
    emojis: [],
    features: [],
    members: [],
    channels: [
      { id: CHANNEL_ID, type: 0, name: 'general', guild_id: guildId, position: 0, permission_overwrites: [] },
    ],
    member_count: 1,
  });
}

/** Option helpers. */
export const opt = {
  string: (name: string, value: string): CommandOption => ({
    name,
    type: ApplicationCommandOptionType.String,
    value,
  }),
  boolean: (name: string, value: boolean): CommandOption => ({
    name,
    type: ApplicationCommandOptionType.Boolean,
    value,
  }),
  attachment: (name: string, id: string): CommandOption => ({
    name,
    type: ApplicationCommandOptionType.Attachment,
    value: id,
  }),
};
