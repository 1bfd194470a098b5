import { describe, expect, it } from 'vitest';
import { cnpgStatus } from '../../src/adapters/kubernetes/cnpg-status.js';
import { parseCnpgDemotionToken } from '../../src/adapters/kubernetes/cnpg-token.js';
import { BatonError } from '../../src/errors.js';

const encode = (content: unknown): string => Buffer.from(JSON.stringify(content)).toString('base64');

/** What CloudNativePG's own parser test decodes (pkg/utils/parser_test.go, "parses a newly generated promotion token"). */
const OPERATOR_FIXTURE = {
  latestCheckpointTimelineID: '3',
  redoWalFile: '000000010000000000000003',
  databaseSystemIdentifier: '12345678901234567890123456789012',
  latestCheckpointREDOLocation: '0/3000CC0',
  timeOfLatestCheckpoint: '2024-04-30 10:00:00 UTC',
  operatorVersion: '1.24.0',
};

function refusal(token: string): BatonError {
  try {
    parseCnpgDemotionToken(token);
  } catch (error) {
    expect(error).toBeInstanceOf(BatonError);
    return error as BatonError;
  }
  throw new Error(`accepted ${token}`);
}

describe('parseCnpgDemotionToken', () => {
  it('decodes the fields the operator puts in the token, the LSN as PostgreSQL writes it', () => {
    expect(parseCnpgDemotionToken(encode(OPERATOR_FIXTURE))).toEqual({
      timeline: 3,
      redoLsn: '0/3000CC0',
      redoWalFile: '000000010000000000000003',
      systemIdentifier: '12345678901234567890123456789012',
      checkpointTime: '2024-04-30 10:00:00 UTC',
      operatorVersion: '1.24.0',
    });
    // Normalized like pg_lsn output; line breaks skipped as Go's decoder skips them.
    const token = encode({ ...OPERATOR_FIXTURE, latestCheckpointREDOLocation: '00000000/03000cc0' });
    expect(parseCnpgDemotionToken(`${token.slice(0, 20)}\n${token.slice(20)}`).redoLsn).toBe('0/3000CC0');
  });

  it('refuses garbage with cnpg-token-invalid and says where the real token is', () => {
    const cases: [string, string][] = [
      ['***(((((((|||||||||)))))))', 'it is not base64'],
      ['', 'it is not base64'],
      [Buffer.from('{"test').toString('base64'), 'it does not hold JSON'],
      [encode(['x']), 'it does not hold a JSON object'],
      [encode({ ...OPERATOR_FIXTURE, operatorVersion: '' }), 'operatorVersion is missing'],
      [
        encode({ ...OPERATOR_FIXTURE, latestCheckpointTimelineID: 3 }),
        'latestCheckpointTimelineID is missing',
      ],
      [encode({ ...OPERATOR_FIXTURE, latestCheckpointTimelineID: 'three' }), 'is not a timeline'],
      [encode({ ...OPERATOR_FIXTURE, latestCheckpointREDOLocation: '3000CC0' }), 'is not a WAL position'],
      [
        encode({ ...OPERATOR_FIXTURE, redoWalFile: 'pg_wal/000000010000000000000003' }),
        'not a WAL file name',
      ],
      [encode({ ...OPERATOR_FIXTURE, databaseSystemIdentifier: 'abc' }), 'not a system identifier'],
    ];
    for (const [token, why] of cases) {
      const error = refusal(token);
      expect(error).toMatchObject({ code: 'cnpg-token-invalid', retriable: false });
      expect(error.message).toContain(why);
      expect(error.message).toContain("jsonpath='{.status.demotionToken}'");
    }
    // Unpadded base64 is refused, as Go's StdEncoding refuses it.
    const padded = ['1.24.0', '1.24.10', '1.24.100']
      .map((operatorVersion) => encode({ ...OPERATOR_FIXTURE, operatorVersion }))
      .find((token) => token.endsWith('='));
    expect(padded).toBeDefined();
    expect(parseCnpgDemotionToken(padded ?? '').timeline).toBe(3);
    expect(refusal((padded ?? '').replace(/=+$/, '')).message).toContain('it is not base64');
  });
});

describe('cnpgStatus', () => {
  it('reads the role, the tokens and whether a demotion is under way', () => {
    expect(
      cnpgStatus({
        metadata: { name: 'pg-east' },
        spec: { replica: { primary: 'pg-west', source: 'pg-west' } },
        status: {
          phase: 'Cluster in healthy state',
          currentPrimary: 'pg-east-1',
          targetPrimary: 'pg-east-1',
          conditions: [{ type: 'Ready', status: 'True' }],
          instancesReportedState: { 'pg-east-1': { isPrimary: false } },
          switchReplicaClusterStatus: { inProgress: true },
          systemID: '7402954417716785153',
        },
      }),
    ).toEqual({
      replica: true,
      phase: 'Cluster in healthy state',
      phaseReason: null,
      currentPrimary: 'pg-east-1',
      targetPrimary: 'pg-east-1',
      ready: true,
      primaryReported: false,
      promoted: false,
      demotionToken: null,
      lastPromotionToken: null,
      demoting: true,
      systemId: '7402954417716785153',
    });
  });
});
