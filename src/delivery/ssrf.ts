// The SSRF guard: a destination must not reach link-local or cloud-metadata addresses, the
// classic way to turn a webhook relay against its own host (169.254.169.254 hands out cloud
// credentials). Checked on the configured URL and again on every DNS answer at connect time,
// so a name that later resolves to such an address (DNS rebinding) is refused too. Loopback
// and private ranges stay allowed: local apps are the common destination.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';

const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

export function unsafeAddress(address: string): string | undefined {
  const v = isIP(address);
  if (v === 4) {
    const [a, b] = address.split('.').map(Number);
    if (a === 169 && b === 254) return 'link-local / cloud metadata (169.254.0.0/16)';
    if (address === '100.100.100.200') return 'cloud metadata (Alibaba)';
    if (a === 0) return 'unspecified (0.0.0.0/8)';
  } else if (v === 6) {
    const x = address.toLowerCase();
    if (/^fe[89ab]/.test(x)) return 'link-local (fe80::/10)';
    if (x === 'fd00:ec2::254') return 'cloud metadata (AWS IPv6)';
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(x);
    if (mapped?.[1]) return unsafeAddress(mapped[1]);
    if (x === '::') return 'unspecified (::)';
  }
  return undefined;
}

/** Why a URL may not be a destination, or undefined when it may. */
export function unsafeUrl(url: URL): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol}`;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (METADATA_HOSTS.has(host.toLowerCase())) return 'a cloud metadata host name';
  return unsafeAddress(host);
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** dns.lookup for the HTTP client, failing when any answer is an unsafe address. */
export function guardedLookup(
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const list = addresses as LookupAddress[];
    for (const a of list) {
      const why = unsafeAddress(a.address);
      if (why) {
        const refused: NodeJS.ErrnoException = new Error(
          `refused to connect to ${hostname} (${a.address}): ${why}`,
        );
        refused.code = 'ERR_UNSAFE_DESTINATION';
        return callback(refused, []);
      }
    }
    if (options.all) return callback(null, list);
    const first = list[0];
    if (!first)
      return callback(
        Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }),
        [],
      );
    callback(null, first.address, first.family);
  });
}
