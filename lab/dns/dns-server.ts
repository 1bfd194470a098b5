/**
 * A small authoritative DNS server over UDP and TCP (RFC 1035 message format), for the Route 53 stand-in. It does the wire
 * work only — decoding questions, encoding answers — and asks a callback what to answer, so the routing rules
 * (failover, health, aliases) live with the records in ../route53/answer-dns.ts. `node:dns` Resolver and `dig` both
 * talk to it.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { createServer, isIPv4, isIPv6 } from 'node:net';
import type { Socket as NetSocket, Server } from 'node:net';

/** Record types the server can put on the wire, with their RFC 1035/3596 codes. */
export const DNS_TYPES = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  ANY: 255,
} as const;
export type DnsTypeName = Exclude<keyof typeof DNS_TYPES, 'OPT' | 'ANY'>;

export const DNS_RCODES = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;
export type DnsRcode = keyof typeof DNS_RCODES;

const CLASS_IN = 1;
const MAX_UDP_WITHOUT_EDNS = 512;
const EDNS_PAYLOAD = 1232;

export interface DnsQuestion {
  /** Lowercase, without the trailing dot (the root is ''). */
  name: string;
  type: number;
  /** `A`, `AAAA`, … or `TYPE65` for codes the server does not know. */
  typeName: string;
  class: number;
}

/** One resource record in presentation form: `data` is an address, a name, SOA fields or quoted TXT strings. */
export interface DnsRecord {
  name: string;
  type: DnsTypeName;
  ttl: number;
  data: string;
}

export interface DnsResponse {
  rcode: DnsRcode;
  /** The AA bit: set for names in a zone the server is authoritative for. */
  authoritative: boolean;
  answers: DnsRecord[];
  authority?: DnsRecord[];
}

export interface DecodedQuery {
  id: number;
  opcode: number;
  recursionDesired: boolean;
  question: DnsQuestion;
  /** The query carried an EDNS(0) OPT record; its advertised UDP payload size. */
  ednsPayload?: number;
}

export interface DnsServer {
  host: string;
  port: number;
  /** `host:port`, the form `Resolver.setServers` and Baton's `dns.resolvers` take. */
  address: string;
  /** Queries answered so far. */
  readonly queries: number;
  close(): Promise<void>;
}

export interface StartDnsServerOptions {
  /** Decides the answer to one question; the server handles everything else on the wire. */
  answer(question: DnsQuestion): DnsResponse;
  host?: string;
  /** 0 (default): a free port chosen by the kernel. */
  port?: number;
}

const typeNameOf = (code: number): string =>
  (Object.entries(DNS_TYPES).find(([, value]) => value === code)?.[0] as string | undefined) ?? `TYPE${code}`;

class FormatError extends Error {}

/** Reads a possibly compressed domain name at `offset`; returns it and the offset after it. */
function readName(message: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let offset = start;
  let next = -1;
  // Pointers may only go backwards; counting jumps guards against loops in hostile packets.
  for (let jumps = 0; ;) {
    const length = message[offset];
    if (length === undefined) throw new FormatError('name runs past the end of the message');
    if (length === 0) {
      if (next < 0) next = offset + 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      const low = message[offset + 1];
      if (low === undefined) throw new FormatError('truncated compression pointer');
      if (next < 0) next = offset + 2;
      offset = ((length & 0x3f) << 8) | low;
      if (++jumps > 64) throw new FormatError('compression loop');
      continue;
    }
    if (length > 63) throw new FormatError('label longer than 63 octets');
    const end = offset + 1 + length;
    if (end > message.length) throw new FormatError('label runs past the end of the message');
    labels.push(message.toString('latin1', offset + 1, end));
    offset = end;
  }
  return { name: labels.join('.').toLowerCase(), next };
}

/** Decodes a query: the header, its one question and an EDNS OPT record if present. */
export function decodeQuery(message: Buffer): DecodedQuery {
  if (message.length < 12) throw new FormatError('shorter than a DNS header');
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  if (flags & 0x8000) throw new FormatError('a response, not a query');
  const qdcount = message.readUInt16BE(4);
  const arcount = message.readUInt16BE(10);
  const opcode = (flags >> 11) & 0x0f;
  const recursionDesired = (flags & 0x0100) !== 0;
  if (qdcount !== 1) throw new FormatError(`expected one question, got ${qdcount}`);
  const { name, next } = readName(message, 12);
  if (next + 4 > message.length) throw new FormatError('truncated question');
  const type = message.readUInt16BE(next);
  const klass = message.readUInt16BE(next + 2);
  const query: DecodedQuery = {
    id,
    opcode,
    recursionDesired,
    question: { name, type, typeName: typeNameOf(type), class: klass },
  };
  // Answer and authority sections are empty in queries; the OPT record, if any, is in the additional section.
  let offset = next + 4;
  for (let index = 0; index < arcount && offset < message.length; index++) {
    const owner = readName(message, offset);
    if (owner.next + 10 > message.length) break;
    const rrType = message.readUInt16BE(owner.next);
    const rrClass = message.readUInt16BE(owner.next + 2);
    const rdlength = message.readUInt16BE(owner.next + 8);
    if (rrType === DNS_TYPES.OPT) query.ednsPayload = Math.max(rrClass, MAX_UDP_WITHOUT_EDNS);
    offset = owner.next + 10 + rdlength;
  }
  return query;
}

function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '');
  if (trimmed === '') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of trimmed.split('.')) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > 63)
      throw new Error(`cannot encode DNS label ${JSON.stringify(label)}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function encodeIPv6(address: string): Buffer {
  let text = address;
  const embedded = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (embedded !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = embedded.split('.').map(Number);
    text = `${text.slice(0, -embedded.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups];
  const out = Buffer.alloc(16);
  groups.forEach((group, index) => out.writeUInt16BE(parseInt(group, 16), index * 2));
  return out;
}

/** Splits TXT presentation data into its quoted character-strings (Route 53 stores `"a" "b"`). */
function txtStrings(data: string): Buffer[] {
  const strings: Buffer[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const match of data.matchAll(pattern)) {
    const text = (match[1] ?? match[2] ?? '').replace(/\\(\d{3}|.)/g, (_all, escaped: string) =>
      escaped.length === 3 ? String.fromCharCode(Number.parseInt(escaped, 8)) : escaped,
    );
    const bytes = Buffer.from(text, 'latin1');
    for (let offset = 0; offset < bytes.length || offset === 0; offset += 255) {
      const chunk = bytes.subarray(offset, offset + 255);
      strings.push(Buffer.concat([Buffer.from([chunk.length]), chunk]));
      if (bytes.length === 0) break;
    }
  }
  return strings;
}

function encodeRdata(record: DnsRecord): Buffer {
  switch (record.type) {
    case 'A': {
      if (!isIPv4(record.data)) throw new Error(`A record data ${record.data} is not an IPv4 address`);
      return Buffer.from(record.data.split('.').map(Number));
    }
    case 'AAAA': {
      if (!isIPv6(record.data)) throw new Error(`AAAA record data ${record.data} is not an IPv6 address`);
      return encodeIPv6(record.data);
    }
    case 'CNAME':
    case 'NS':
      return encodeName(record.data);
    case 'MX': {
      const [preference = '0', exchange = '.'] = record.data.trim().split(/\s+/);
      const head = Buffer.alloc(2);
      head.writeUInt16BE(Number(preference));
      return Buffer.concat([head, encodeName(exchange)]);
    }
    case 'SOA': {
      const [mname = '.', rname = '.', ...numbers] = record.data.trim().split(/\s+/);
      const tail = Buffer.alloc(20);
      for (let index = 0; index < 5; index++)
        tail.writeUInt32BE(Number(numbers[index] ?? 0) >>> 0, index * 4);
      return Buffer.concat([encodeName(mname), encodeName(rname), tail]);
    }
    case 'TXT':
      return Buffer.concat(txtStrings(record.data));
  }
}

function encodeRecord(record: DnsRecord): Buffer {
  const rdata = encodeRdata(record);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(DNS_TYPES[record.type], 0);
  fixed.writeUInt16BE(CLASS_IN, 2);
  fixed.writeUInt32BE(record.ttl >>> 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(record.name), fixed, rdata]);
}

function encodeQuestion(question: DnsQuestion): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(question.type, 0);
  tail.writeUInt16BE(question.class, 2);
  return Buffer.concat([encodeName(question.name), tail]);
}

function header(
  query: Pick<DecodedQuery, 'id' | 'opcode' | 'recursionDesired'>,
  rcode: number,
  options: { authoritative: boolean; truncated: boolean; counts: [number, number, number, number] },
): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(query.id, 0);
  let flags = 0x8000 | (query.opcode << 11) | rcode;
  if (options.authoritative) flags |= 0x0400;
  if (options.truncated) flags |= 0x0200;
  if (query.recursionDesired) flags |= 0x0100;
  // RA stays clear: like Route 53's name servers, this server does not recurse.
  out.writeUInt16BE(flags, 2);
  options.counts.forEach((count, index) => out.writeUInt16BE(count, 4 + index * 2));
  return out;
}

function optRecord(): Buffer {
  const out = Buffer.alloc(11);
  out.writeUInt8(0, 0); // root owner name
  out.writeUInt16BE(DNS_TYPES.OPT, 1);
  out.writeUInt16BE(EDNS_PAYLOAD, 3);
  out.writeUInt32BE(0, 5); // extended rcode, version 0, no flags
  out.writeUInt16BE(0, 9);
  return out;
}

/** Encodes the response to `query`; sets TC and drops the records when they do not fit the client's UDP size. */
export function encodeResponse(
  query: DecodedQuery,
  response: DnsResponse,
  limit = query.ednsPayload ?? MAX_UDP_WITHOUT_EDNS,
): Buffer {
  const question = encodeQuestion(query.question);
  const answers = response.answers.map(encodeRecord);
  const authority = (response.authority ?? []).map(encodeRecord);
  const additional = query.ednsPayload === undefined ? [] : [optRecord()];
  const rcode = DNS_RCODES[response.rcode];
  const full = Buffer.concat([
    header(query, rcode, {
      authoritative: response.authoritative,
      truncated: false,
      counts: [1, answers.length, authority.length, additional.length],
    }),
    question,
    ...answers,
    ...authority,
    ...additional,
  ]);
  if (full.length <= limit) return full;
  return Buffer.concat([
    header(query, rcode, {
      authoritative: response.authoritative,
      truncated: true,
      counts: [1, 0, 0, additional.length],
    }),
    question,
    ...additional,
  ]);
}

/** An error response that echoes whatever of the query could be read. */
function errorResponse(message: Buffer, rcode: DnsRcode): Buffer | undefined {
  if (message.length < 12) return undefined;
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  return header(
    { id, opcode: (flags >> 11) & 0x0f, recursionDesired: (flags & 0x0100) !== 0 },
    DNS_RCODES[rcode],
    {
      authoritative: false,
      truncated: false,
      counts: [0, 0, 0, 0],
    },
  );
}

/** The response to one raw query message, or undefined when it is too short to answer at all. */
function respond(
  message: Buffer,
  answer: StartDnsServerOptions['answer'],
  limit: number | undefined,
): { payload: Buffer; query?: DecodedQuery } | undefined {
  let query: DecodedQuery;
  try {
    query = decodeQuery(message);
  } catch {
    const formerr = errorResponse(message, 'FORMERR');
    return formerr && { payload: formerr };
  }
  const encode = (response: DnsResponse) => encodeResponse(query, response, limit);
  if (query.opcode !== 0)
    return { query, payload: encode({ rcode: 'NOTIMP', authoritative: false, answers: [] }) };
  if (query.question.class !== CLASS_IN) {
    return { query, payload: encode({ rcode: 'REFUSED', authoritative: false, answers: [] }) };
  }
  try {
    return { query, payload: encode(answer(query.question)) };
  } catch {
    // A record the encoder cannot represent is the stand-in's bug; SERVFAIL is what a real server would say.
    return { query, payload: encode({ rcode: 'SERVFAIL', authoritative: false, answers: [] }) };
  }
}

/** Binds UDP and TCP to one port (RFC 7766: TCP is how clients retry truncated answers, and what dig uses for ANY). */
async function bindBoth(host: string, port: number): Promise<{ udp: Socket; tcp: Server }> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udp.address().port, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp };
    } catch (error) {
      // The kernel's free UDP port may be taken for TCP; try another unless the caller asked for this one.
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      if (port !== 0 || attempt >= 20) throw error;
    }
  }
}

/** Starts the server on `host` (default 127.0.0.1), UDP and TCP on one port: a free one unless `port` is given. */
export async function startDnsServer(options: StartDnsServerOptions): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  const { udp, tcp } = await bindBoth(host, options.port ?? 0);
  let queries = 0;

  udp.on('message', (message, peer: RemoteInfo) => {
    const result = respond(message, options.answer, undefined);
    if (!result) return;
    if (result.query) queries += 1;
    udp.send(result.payload, peer.port, peer.address);
  });
  // Errors after binding (an ICMP unreachable for a reply) must not crash the process hosting the stand-in.
  udp.on('error', () => undefined);

  const connections = new Set<NetSocket>();
  tcp.on('connection', (connection) => {
    connections.add(connection);
    connection.on('close', () => connections.delete(connection));
    connection.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    connection.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // Each message is preceded by its two-byte length; a connection may carry several.
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        const result = respond(message, options.answer, 65_535);
        if (!result) {
          connection.destroy();
          return;
        }
        if (result.query) queries += 1;
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(result.payload.length);
        connection.write(Buffer.concat([prefix, result.payload]));
      }
    });
  });

  const port = udp.address().port;
  return {
    host,
    port,
    address: isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`,
    get queries() {
      return queries;
    },
    close: async () => {
      for (const connection of connections) connection.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}
