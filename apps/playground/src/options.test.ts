import { describe, expect, it } from 'vitest';
import { parseOptions } from './options.js';

describe('parseOptions', () => {
  it('listens on loopback by default, on PORT or 4319', () => {
    const o = parseOptions([], { INIT_CWD: '/srv/app' });
    expect(o).toMatchObject({
      host: '127.0.0.1',
      port: 4319,
      home: '/srv/app/.oppu',
      tasks: ['LaMP_2M', 'LaMP_7'],
      demo: true,
    });
    expect(parseOptions([], { PORT: '8080' })).toMatchObject({ port: 8080 });
    expect(parseOptions(['--port', '0', '--host', '::1'], { PORT: '8080' })).toMatchObject({
      port: 0,
      host: '::1',
    });
  });

  it('takes OPPU_HOME, --home, the tasks and the training budget', () => {
    expect(parseOptions([], { OPPU_HOME: '/data/oppu' })).toMatchObject({ home: '/data/oppu' });
    expect(
      parseOptions(['--home', 'x', '--tasks', 'LaMP-7', '--steps', '5', '--lr', '0.01', '--no-demo'], {
        INIT_CWD: '/w',
      }),
    ).toMatchObject({ home: '/w/x', tasks: ['LaMP_7'], steps: 5, learningRate: 0.01, demo: false });
    expect(parseOptions(['--help'])).toBe('help');
    expect(parseOptions(['--', '--port', '8080'], {})).toMatchObject({ port: 8080 });
    expect(parseOptions([], {})).not.toHaveProperty('redisUrl');
    expect(parseOptions([], { OPPU_REDIS_URL: 'redis://q:6379' })).toMatchObject({
      redisUrl: 'redis://q:6379',
    });
    expect(parseOptions(['--redis', 'redis://r:1'], { OPPU_REDIS_URL: 'redis://q:6379' })).toMatchObject({
      redisUrl: 'redis://r:1',
    });
  });

  it('explains bad values', () => {
    expect(() => parseOptions(['--port', '70000'])).toThrow(
      '--port: "70000" is not an integer from 0 to 65535',
    );
    expect(() => parseOptions(['--steps', 'many'])).toThrow(
      '--steps: "many" is not an integer from 1 to 100000',
    );
    expect(() => parseOptions(['--tasks', 'LaMP_3'])).toThrow(
      '--tasks: the playground offers LaMP_2M and LaMP_7, not LaMP_3',
    );
    expect(() => parseOptions(['--lr', '2'])).toThrow('--lr: 2 is not a learning rate in (0, 1)');
    expect(() => parseOptions(['--bogus'])).toThrow(/bogus/);
  });

  it('takes the access token and the allowed host names from flags or the environment', () => {
    expect(parseOptions([], {})).not.toHaveProperty('token');
    expect(parseOptions([], {})).not.toHaveProperty('allowedHosts');
    expect(parseOptions(['--token', 'a-long-enough-token-1'], {})).toMatchObject({
      token: 'a-long-enough-token-1',
    });
    expect(parseOptions([], { OPPU_PLAYGROUND_TOKEN: 'from-the-environment-0' })).toMatchObject({
      token: 'from-the-environment-0',
    });
    expect(
      parseOptions(['--allowed-hosts', 'Box.lan, .home.arpa'], { OPPU_ALLOWED_HOSTS: 'x.lan' }),
    ).toMatchObject({ allowedHosts: ['box.lan', '.home.arpa'] });
    expect(parseOptions([], { OPPU_ALLOWED_HOSTS: 'x.lan' })).toMatchObject({ allowedHosts: ['x.lan'] });
    expect(() => parseOptions(['--token', 'short'], {})).toThrow(
      /^--token: use 16 to 200 printable characters/,
    );
    expect(() => parseOptions(['--allowed-hosts', 'evil.example:80/x'], {})).toThrow(
      '--allowed-hosts: "evil.example:80/x" is not a host name',
    );
  });
});
