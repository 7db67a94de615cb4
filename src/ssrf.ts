// The SSRF guard: a destination must not reach link-local or cloud-metadata addresses, the
// classic way to turn a webhook relay against its own host (169.254.169.254 hands out cloud
// credentials). Loopback and private ranges stay allowed: local apps are the common
// destination.
//
// Three checks, one list:
// - where the destination is built (`unsafeUrl`, at config time): the URL's host, by name or
//   as an IP literal in any spelling;
// - at connect time, on the host undici dials (IP literals get no DNS lookup) and on every
//   DNS answer, before a socket is opened;
// - at connect time, on the address the socket is actually connected to, before undici gets
//   the socket and writes a request. That one also covers DNS rebinding. It cannot replace
//   the dialled-host check: Linux connects 0.0.0.0 to 127.0.0.1 and :: to ::1.
//
// Addresses are parsed with ipaddr.js, so every textual form compares equal, and an IPv4
// address carried inside an IPv6 one (mapped, compatible, NAT64, 6to4, Teredo) is checked as
// the IPv4 address it reaches.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { buildConnector } from 'undici';

/** A refused range and why, as the refusal will say it. */
export interface UnsafeRange {
  cidr: string;
  why: string;
}

/** Refused unless `allow_unsafe_url`. */
export const UNSAFE_RANGES: readonly UnsafeRange[] = [
  // Connecting to an unspecified address reaches this host (RFC 1122 §3.2.1.3, RFC 4291 §2.5.2).
  { cidr: '0.0.0.0/8', why: 'unspecified (0.0.0.0/8)' },
  { cidr: '::/128', why: 'unspecified (::)' },
  // RFC 3927 / RFC 4291 §2.5.6. Most clouds serve metadata in 169.254/16: AWS, GCP, Azure,
  // Oracle and DigitalOcean at 169.254.169.254, AWS ECS/EKS credentials at 169.254.170.2 and
  // 169.254.170.23, Tencent at 169.254.0.23, Scaleway at 169.254.42.42.
  { cidr: '169.254.0.0/16', why: 'link-local / cloud metadata (169.254.0.0/16)' },
  { cidr: 'fe80::/10', why: 'link-local (fe80::/10)' },
  // https://www.alibabacloud.com/help/en/ecs/user-guide/view-instance-metadata
  { cidr: '100.100.100.200/32', why: 'cloud metadata (Alibaba Cloud)' },
  // https://learn.microsoft.com/azure/virtual-network/what-is-ip-address-168-63-129-16
  { cidr: '168.63.129.16/32', why: 'cloud platform endpoint (Azure WireServer)' },
  // Oracle Cloud Infrastructure Classic's metadata service.
  { cidr: '192.0.0.192/32', why: 'cloud metadata (Oracle Cloud Classic)' },
  // AWS's IPv6 service block: IMDS fd00:ec2::254, EKS Pod Identity fd00:ec2::23, DNS, NTP.
  // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
  // https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html
  { cidr: 'fd00:ec2::/32', why: 'cloud metadata (AWS IPv6 services)' },
  // https://cloud.google.com/compute/docs/metadata/querying-metadata
  { cidr: 'fd20:ce::254/128', why: 'cloud metadata (Google Cloud IPv6)' },
  // https://docs.oracle.com/iaas/Content/Compute/Tasks/gettingmetadata.htm
  { cidr: 'fd00:c1::a9fe:a9fe/128', why: 'cloud metadata (Oracle Cloud IPv6)' },
  // Alibaba Cloud, Scaleway and Akamai/Linode IPv6 metadata, as cloud-init's datasources use
  // them: https://cloudinit.readthedocs.io/en/latest/reference/datasources/
  { cidr: 'fd00:100::100:200/128', why: 'cloud metadata (Alibaba Cloud IPv6)' },
  { cidr: 'fd00:42::42/128', why: 'cloud metadata (Scaleway IPv6)' },
  { cidr: 'fd00:a9fe:a9fe::1/128', why: 'cloud metadata (Akamai / Linode IPv6)' },
];

/**
 * Names of metadata services, compared lower-case without one trailing dot (a fully
 * qualified `metadata.google.internal.` is the same host). A name that resolves to an unsafe
 * address is refused at connect time anyway; these are refused at config time too.
 */
const METADATA_HOSTS = new Set([
  'metadata.google.internal', // GCP
  'metadata.goog', // GCP
  'metadata', // GCP, via the search domain
  'instance-data', // AWS, via the search domain
  'instance-data.ec2.internal', // AWS
  'metadata.tencentyun.com', // Tencent Cloud
]);

/** Where an IPv6 range carries an IPv4 address; `xor` undoes Teredo's obfuscation. */
interface Embedding {
  prefix: [ipaddr.IPv6, number];
  name: string;
  at: { bytes: number[]; xor?: number }[];
}

const LAST_32 = [12, 13, 14, 15];
const EMBEDDINGS: Embedding[] = [
  // RFC 4291 §2.5.5.2
  { prefix: ipaddr.IPv6.parseCIDR('::ffff:0:0/96'), name: 'IPv4-mapped', at: [{ bytes: LAST_32 }] },
  // RFC 6145 §2.1 (SIIT)
  {
    prefix: ipaddr.IPv6.parseCIDR('::ffff:0:0:0/96'),
    name: 'IPv4-translated',
    at: [{ bytes: LAST_32 }],
  },
  // RFC 4291 §2.5.5.1, deprecated but still parsed and routed by some stacks. ::1 is exempt.
  { prefix: ipaddr.IPv6.parseCIDR('::/96'), name: 'IPv4-compatible', at: [{ bytes: LAST_32 }] },
  // RFC 6052 §2.1, the well-known NAT64 prefix
  { prefix: ipaddr.IPv6.parseCIDR('64:ff9b::/96'), name: 'NAT64', at: [{ bytes: LAST_32 }] },
  // RFC 8215: a local-use NAT64 prefix of any RFC 6052 length from /48 on, so every position
  // the IPv4 address can take (RFC 6052 §2.2; byte 8 is the reserved "u" octet) is checked.
  {
    prefix: ipaddr.IPv6.parseCIDR('64:ff9b:1::/48'),
    name: 'local-use NAT64',
    at: [
      { bytes: [6, 7, 9, 10] },
      { bytes: [7, 9, 10, 11] },
      { bytes: [9, 10, 11, 12] },
      { bytes: LAST_32 },
    ],
  },
  // RFC 3056 §2
  { prefix: ipaddr.IPv6.parseCIDR('2002::/16'), name: '6to4', at: [{ bytes: [2, 3, 4, 5] }] },
  // RFC 4380 §4: the server address, then the client's, stored with every bit inverted.
  {
    prefix: ipaddr.IPv6.parseCIDR('2001::/32'),
    name: 'Teredo',
    at: [{ bytes: [4, 5, 6, 7] }, { bytes: LAST_32, xor: 0xff }],
  },
];

const IPV6_LOOPBACK = ipaddr.IPv6.parse('::1');

/** The IPv4 addresses an IPv6 address reaches, with the form that carries each. */
function embeddedIPv4(address: ipaddr.IPv6): { v4: ipaddr.IPv4; form: string }[] {
  if (address.match(IPV6_LOOPBACK, 128)) return [];
  const bytes = address.toByteArray();
  const out: { v4: ipaddr.IPv4; form: string }[] = [];
  for (const e of EMBEDDINGS) {
    if (!address.match(e.prefix)) continue;
    for (const { bytes: at, xor = 0 } of e.at) {
      out.push({ v4: new ipaddr.IPv4(at.map((i) => (bytes[i] ?? 0) ^ xor)), form: e.name });
    }
  }
  return out;
}

function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  // ipaddr also reads the decimal/octal/hex IPv4 forms (2852039166, 0xa9fea9fe), as
  // getaddrinfo does: erring towards "an address" only ever refuses more.
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : undefined;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export interface SsrfGuard {
  /** Why an IP address may not be connected to, or undefined when it may. */
  unsafeAddress(address: string): string | undefined;
  /** Why a host (a name or an IP literal, bracketed or not) may not be dialled. */
  unsafeHost(host: string): string | undefined;
  /** Why a URL may not be a destination, or undefined when it may. */
  unsafeUrl(url: URL): string | undefined;
  /** dns.lookup, failing when any answer is unsafe. */
  lookup(hostname: string, options: LookupOptions, callback: LookupCallback): void;
  /**
   * An undici connector that refuses an unsafe dialled host, an unsafe DNS answer, and an
   * unsafe connected address (for https the TLS handshake has happened by then, no request).
   */
  connector(options?: buildConnector.BuildOptions): buildConnector.connector;
}

function refusal(host: string, address: string, why: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(
    `refused to connect to ${host} (${address}): ${why}`,
  );
  error.code = 'ERR_UNSAFE_DESTINATION';
  return error;
}

/**
 * A guard refusing `ranges`. The gateway uses `ssrfGuard` (the built-in list); tests build
 * one with loopback stand-ins, since no metadata service can be reached from a test.
 */
export function createSsrfGuard(ranges: readonly UnsafeRange[] = UNSAFE_RANGES): SsrfGuard {
  const rules = ranges.map((r) => ({ range: ipaddr.parseCIDR(r.cidr), why: r.why }));
  const match = (a: ipaddr.IPv4 | ipaddr.IPv6) =>
    rules.find((r) => r.range[0].kind() === a.kind() && a.match(r.range))?.why;

  function checkAddress(a: ipaddr.IPv4 | ipaddr.IPv6): string | undefined {
    const direct = match(a);
    if (direct || a.kind() === 'ipv4') return direct;
    for (const { v4, form } of embeddedIPv4(a as ipaddr.IPv6)) {
      const why = match(v4);
      if (why) return `${why}: ${v4.toString()} in ${form} form`;
    }
    return undefined;
  }

  /** For addresses the system hands us (DNS answers, the peer): fails closed. */
  function checkConnectable(address: string | undefined): string | undefined {
    const a = address === undefined ? undefined : parseAddress(address);
    return a ? checkAddress(a) : 'not an IP address';
  }

  const guard: SsrfGuard = {
    unsafeAddress(address) {
      const a = parseAddress(address);
      return a ? checkAddress(a) : undefined;
    },

    unsafeHost(host) {
      const name = host.toLowerCase().replace(/\.$/, '');
      const a = parseAddress(name);
      if (a) return checkAddress(a);
      return METADATA_HOSTS.has(name) ? `a cloud metadata host name (${name})` : undefined;
    },

    unsafeUrl(url) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol}`;
      return guard.unsafeHost(url.hostname);
    },

    lookup(hostname, options, callback) {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error) return callback(error, []);
        for (const a of addresses) {
          const why = checkConnectable(a.address);
          if (why) return callback(refusal(hostname, a.address, why), []);
        }
        if (options.all) return callback(null, addresses);
        const first = addresses[0];
        if (!first)
          return callback(
            Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }),
            [],
          );
        callback(null, first.address, first.family);
      });
    },

    connector(options = {}) {
      const connect = buildConnector({ ...options, lookup: guard.lookup });
      return (target, callback) => {
        const dialled = guard.unsafeHost(target.hostname);
        if (dialled) return callback(refusal(target.hostname, target.hostname, dialled), null);
        connect(target, (...result) => {
          const [error, socket] = result;
          if (error) return callback(error, null);
          const peer = socket.remoteAddress;
          const why = checkConnectable(peer);
          if (why) {
            socket.destroy();
            return callback(refusal(target.hostname, peer ?? 'unknown', why), null);
          }
          callback(null, socket);
        });
      };
    },
  };
  return guard;
}

/** The gateway's guard, on the built-in list. */
export const ssrfGuard = createSsrfGuard();

/** Why an IP address may not be connected to, or undefined when it may. */
export function unsafeAddress(address: string): string | undefined {
  return ssrfGuard.unsafeAddress(address);
}

/** Why a URL may not be a destination, or undefined when it may. */
export function unsafeUrl(url: URL): string | undefined {
  return ssrfGuard.unsafeUrl(url);
}
