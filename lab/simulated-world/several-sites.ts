/**
 * Several sites' simulated worlds behind one set of ports, as the real adapters serve every site of a topology: a
 * call that names a site (every port method takes its SiteConfig) goes to that site's world. A DNS change id is
 * given out as `<site>/<id>` so the calls that take only the id (changeStatus, waitForInsync) find their world, and a
 * health URL goes to the world of the site that has it. For evacuations: many sites moving at once.
 */
import type { Redis } from 'ioredis';
import type { SiteConfig } from '../../src/config/topology.js';
import type { Clock, Ports } from '../../src/core/ports.js';
import { SimulatedWorld } from './simulated-world.js';
import type { WorldTiming } from './simulated-world.js';

export interface SeveralSites {
  ports: Ports;
  /** Each site's own world, by site name. */
  worlds: Map<string, SimulatedWorld>;
  world(site: string): SimulatedWorld;
}

const isSite = (value: unknown): value is SiteConfig =>
  typeof value === 'object' && value !== null && 'name' in value && 'clusters' in value;

export function severalSitesInMemory(
  sites: readonly SiteConfig[],
  clock: Clock,
  timing: Partial<WorldTiming> = {},
): SeveralSites {
  return severalSites(sites, (site) => SimulatedWorld.inMemory(site, clock, timing));
}

/** Where site `site`'s world lives in Redis, next to the one-site world under `key`. */
export const siteWorldKey = (key: string, site: string): string => `${key}:${site}`;

/**
 * Several sites' worlds shared through Redis, as several worker processes (and a test that kills them) see them:
 * each site's under {@link siteWorldKey}. Call {@link resetSeveralSitesInRedis} once to create them.
 */
export function severalSitesInRedis(
  redis: Redis,
  key: string,
  sites: readonly SiteConfig[],
  clock: Clock,
  timing: Partial<WorldTiming> = {},
): SeveralSites {
  return severalSites(sites, (site) =>
    SimulatedWorld.inRedis(redis, siteWorldKey(key, site.name), site, clock, timing),
  );
}

export async function resetSeveralSitesInRedis(
  redis: Redis,
  key: string,
  sites: readonly SiteConfig[],
): Promise<void> {
  for (const site of sites) await SimulatedWorld.resetInRedis(redis, siteWorldKey(key, site.name), site);
}

/** The sites' worlds (one per site, from `worldOf`) behind one set of ports. */
function severalSites(
  sites: readonly SiteConfig[],
  worldOf: (site: SiteConfig) => SimulatedWorld,
): SeveralSites {
  const worlds = new Map(sites.map((site) => [site.name, worldOf(site)]));
  const world = (name: string): SimulatedWorld => {
    const found = worlds.get(name);
    if (!found) throw new Error(`no simulated world for site ${name}`);
    return found;
  };
  const [first] = sites;
  if (!first) throw new Error('several sites need at least one site');

  /** The world a call is for, and its arguments as that world expects them. */
  const route = (args: unknown[]): { target: SimulatedWorld; args: unknown[]; site?: string } => {
    const site = args.find(isSite);
    if (site) return { target: world(site.name), args, site: site.name };
    const [head, ...rest] = args;
    if (typeof head === 'string' && head.includes('/') && !/^[a-z]+:\/\//.test(head)) {
      const [name = '', id = ''] = head.split('/');
      return { target: world(name), args: [id, ...rest] };
    }
    if (typeof head === 'string') {
      const owner = sites.find((s) => Object.values(s.clusters).some((c) => c.healthUrl === head));
      if (owner) return { target: world(owner.name), args };
    }
    return { target: world(first.name), args };
  };

  const portOf = (name: keyof Ports): unknown =>
    new Proxy(
      {},
      {
        get(_target, method: string) {
          const sample = (world(first.name).ports[name] as unknown as Record<string, unknown>)[method];
          if (typeof sample !== 'function') return sample;
          return async (...args: unknown[]) => {
            const call = route(args);
            const port = call.target.ports[name] as unknown as Record<string, (...a: unknown[]) => unknown>;
            const result = await port[method]?.(...call.args);
            // A DNS change names its site, so the calls that take only its id find their world.
            if (call.site && result && typeof result === 'object' && 'changeId' in result) {
              const changeId = (result as { changeId: string }).changeId;
              return { ...result, changeId: `${call.site}/${changeId}` };
            }
            return result;
          };
        },
      },
    );

  const ports = Object.fromEntries(
    Object.keys(world(first.name).ports).map((name) => [name, portOf(name as keyof Ports)]),
  ) as unknown as Ports;
  return { ports, worlds, world };
}
