/** The hosted zone's own name servers (GetHostedZone), which DNS verification asks when `dns.resolvers` is not set. */
import { GetHostedZoneCommand } from '@aws-sdk/client-route-53';
import type { SiteConfig } from '../../config/topology.js';
import type { Clock } from '../../core/ports.js';
import { parseHostPort } from '../resolve-dns.js';
import { hostedZone, stripIdPrefix } from './route53-ids.js';
import type { Route53Requests } from './route53-requests.js';

const NAME_SERVER_CACHE_MS = 5 * 60_000;

/** Each zone's delegation set, cached: verify polls often and name servers rarely change. */
export class ZoneNameServers {
  private readonly cache = new Map<string, { servers: string[]; until: number }>();

  constructor(
    private readonly requests: Route53Requests,
    private readonly clock: Clock,
  ) {}

  /** The site's zone's name servers as `host:port`, IPv6 hosts bracketed. */
  async get(site: SiteConfig, port: number, signal?: AbortSignal): Promise<string[]> {
    const zoneId = stripIdPrefix(site.dns.hostedZoneId);
    const cached = this.cache.get(zoneId);
    if (cached && cached.until > this.clock.now()) return cached.servers;
    const output = await this.requests.call(
      'GetHostedZone',
      hostedZone(site),
      (abortSignal) => this.requests.client.send(new GetHostedZoneCommand({ Id: zoneId }), { abortSignal }),
      signal,
    );
    const servers = (output.DelegationSet?.NameServers ?? []).map((server) => {
      const { host } = parseHostPort(server);
      return `${host.includes(':') ? `[${host}]` : host}:${port}`;
    });
    this.cache.set(zoneId, { servers, until: this.clock.now() + NAME_SERVER_CACHE_MS });
    return servers;
  }
}
