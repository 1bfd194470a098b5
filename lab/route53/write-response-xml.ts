/**
 * Response bodies as the real service writes them: `<Root xmlns="…/2013-04-01/">` with elements in the API
 * reference's order and text escaped. The responses are small trees of text elements in a fixed order; a writer of
 * a few lines is enough, keeps that order visible at each call, and leaves quotes readable in messages as the
 * service does (fast-xml-parser's XMLBuilder would write `&apos;`; it also measured slower on large record lists).
 */

export const ROUTE53_XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/';

// Characters XML 1.0 forbids (a control character from a URL path, say) cannot be written at all, escaped or
// not: C0 controls other than tab and line breaks, U+FFFE/U+FFFF and unpaired surrogates.
/* eslint-disable no-control-regex -- matching the control characters is the point */
const NOT_XML =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/* eslint-enable no-control-regex */

// Text content needs &, < and > escaped; forbidden characters become U+FFFD so that the response stays well-formed.
const escapeText = (text: string): string =>
  text
    .replace(/[&<>]/g, (char) => (char === '&' ? '&amp;' : char === '<' ? '&lt;' : '&gt;'))
    .replace(NOT_XML, '\ufffd');

/** Content of an element: text, or the child elements already written (undefined ones are left out). */
export type XmlContent = string | number | boolean | readonly (string | undefined)[];

/** `el('Name', 'text')`, `el('Parent', [el(...), ...])`; undefined content leaves the element out. */
export function el(name: string, content: XmlContent | undefined): string | undefined {
  if (content === undefined) return undefined;
  const inner = Array.isArray(content)
    ? content.filter((part) => part !== undefined).join('')
    : escapeText(String(content));
  return `<${name}>${inner}</${name}>`;
}

/** A whole response body with its XML declaration and the API's namespace on the root. */
export const xmlDocument = (root: string, children: readonly (string | undefined)[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${ROUTE53_XMLNS}">${children.filter(Boolean).join('')}</${root}>`;
