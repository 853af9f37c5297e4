// The network-service options of `skbnet serve`: --dns-forward, --hostfwd (repeatable), --restrict,
// --max-connections, and their usage errors.
import { expect } from 'chai';
import { DEFAULT_MAX_BUFFER, DEFAULT_MAX_CONNECTIONS, parseServeOptions, UsageError } from '../../emulator/options';

describe('serve options: DNS, host forwarding, restrict, limits', () => {
  it('defaults: resolv.conf upstream, no rules, unrestricted, the default cap', () => {
    const { options } = parseServeOptions(['--vhost-user', '/tmp/x']);
    expect(options).to.include({ dnsForward: null, restrict: false, maxConnections: DEFAULT_MAX_CONNECTIONS, maxBuffer: DEFAULT_MAX_BUFFER });
    expect(options.hostfwd).to.deep.equal([]);
  });

  it('parses each option, --opt=value forms and repeated --hostfwd', () => {
    const { options } = parseServeOptions([
      '--dns-forward=127.0.0.1:5353',
      '--hostfwd', 'tcp::2222-:22',
      '--hostfwd=udp:0.0.0.0:5000-10.0.2.20:5001',
      '--restrict',
      '--max-connections', '64',
      '--max-buffer=262144',
    ]);
    expect(options.dnsForward).to.deep.equal({ address: '127.0.0.1', port: 5353 });
    expect(options.hostfwd.map((r) => [r.proto, r.hostAddr, r.hostPort, r.guestAddr, r.guestPort])).to.deep.equal([
      ['tcp', '127.0.0.1', 2222, null, 22],
      ['udp', '0.0.0.0', 5000, 0x0a000214, 5001],
    ]);
    expect(options).to.include({ restrict: true, maxConnections: 64, maxBuffer: 262144 });
  });

  it('bad values are usage errors naming the option', () => {
    for (const [args, re] of [
      [['--dns-forward', 'resolver.example'], /dns-forward/],
      [['--hostfwd', 'tcp:8080-:80'], /--hostfwd: invalid host forwarding rule/],
      [['--max-connections', '0'], /--max-connections/],
      [['--max-buffer', '1000'], /--max-buffer/],
      [['--hostfwd'], /needs a value/],
    ] as const) {
      expect(() => parseServeOptions([...args]), args.join(' ')).to.throw(UsageError, re);
    }
  });
});
