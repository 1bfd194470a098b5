/**
 * Kubernetes resource quantities (`500m`, `1.5`, `128Mi`, `1G`, `1e3`), parsed by the grammar of
 * k8s.io/apimachinery/pkg/api/resource/quantity.go:
 *
 *   <quantity> ::= <signedNumber><suffix>;  <number> ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei  |  n | u | m | "" | k | M | G | T | P | E  |  e<signedNumber> | E<signedNumber>
 *
 * client-node 1.x has `quantityToScalar` in its util module, but its package index does not export it, and it
 * throws on fractions with a suffix (`1.5Gi`, `0.5G`: it hands them to BigInt), which the API accepts and
 * serializes as given. Hence this small parser. Numbers are JavaScript doubles: exact for every amount a node or
 * a pod can hold (below 2^53 bytes, 8 PiB).
 */

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?))$/;

/** The quantity's value in base units (cores, bytes, pods); throws on text that is not a quantity. */
export function parseQuantity(text: string): number {
  const match = QUANTITY.exec(text.trim());
  if (!match) throw new Error(`not a Kubernetes quantity: "${text}"`);
  const [, number = '', exponent, suffix = ''] = match;
  const value = Number(number);
  if (exponent !== undefined) return value * 10 ** Number(exponent.slice(1));
  return value * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/** CPU in millicores, rounded up as Quantity.MilliValue() rounds (`1n` is 1m); 0 when absent. */
export function cpuMillis(quantity: string | undefined): number {
  return quantity === undefined ? 0 : Math.ceil(round(parseQuantity(quantity) * 1000));
}

/** An amount in whole units (bytes, pods), rounded up as Quantity.Value() rounds; 0 when absent. */
export function wholeUnits(quantity: string | undefined): number {
  return quantity === undefined ? 0 : Math.ceil(round(parseQuantity(quantity)));
}

/** Drops the binary noise of decimal arithmetic (`0.3` × 1000 is 300.00000000000006) before rounding up. */
function round(value: number): number {
  return Number(value.toPrecision(15));
}
