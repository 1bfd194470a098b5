/**
 * Domain names as Route 53 keeps them: lowercase, fully qualified, with characters other than a-z, 0-9, "-" and
 * "_" escaped as \ooo (octal) — `*.example.com` lists as `\052.example.com.` — and the order
 * ListResourceRecordSets sorts them in.
 */

/** Presentation form without escapes: lowercase, no trailing dot (`*.example.com`). */
export function plainName(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_all, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

/** The form Route 53 stores and lists: lowercase, escaped, with the trailing dot. */
export function route53Name(name: string): string {
  const plain = plainName(name);
  const escaped = [...plain]
    .map((char) =>
      /[a-z0-9\-_.]/.test(char) ? char : `\\${char.charCodeAt(0).toString(8).padStart(3, '0')}`,
    )
    .join('');
  return `${escaped}.`;
}

/** ListResourceRecordSets sorts by name with the labels reversed (`com.example.www.`), in ASCII order. */
export const sortName = (canonical: string): string =>
  `${canonical.replace(/\.$/, '').split('.').reverse().join('.')}.`;

/** Plain code-unit order, as Route 53 compares names, types and set identifiers. */
export const ascii = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Whether plain `name` is `zone` itself or below it. */
export const inZone = (name: string, zone: string): boolean => name === zone || name.endsWith(`.${zone}`);
