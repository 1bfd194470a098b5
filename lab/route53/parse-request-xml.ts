/**
 * Request bodies (ChangeResourceRecordSets, UpdateHealthCheck) through fast-xml-parser, as strictly as the real
 * service reads them: a body that is not well-formed XML 1.0 — a DOCTYPE, an undeclared entity, a character XML
 * forbids, text outside the document element — is refused with `InvalidInput`, "Invalid XML ; …". Names lose their
 * namespace prefix; every element maps to the list of its occurrences, in order.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { EntityDecoderOptions } from 'fast-xml-parser';
import { invalidInput } from './route53-errors.js';

/** An element: its text when it has no child elements, else its children by name (and any text under `#text`). */
export type XmlElement = string | { readonly [name: string]: readonly XmlElement[] | string | undefined };

class XmlSyntaxError extends Error {}

const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

// XML 1.0's Char production; anything else may not appear in a document, raw or as a character reference.
const isXmlChar = (code: number): boolean =>
  code === 0x9 ||
  code === 0xa ||
  code === 0xd ||
  (code >= 0x20 && code <= 0xd7ff) ||
  (code >= 0xe000 && code <= 0xfffd) ||
  (code >= 0x10000 && code <= 0x10ffff);

/**
 * The five predefined entities and character references (the SDK writes `&#x0A;` for a newline), nothing else.
 * The library's default decoder leaves unknown entities in the text and decodes character references only with
 * its HTML entities switched on; the wording of the errors is the real service's (its parser's).
 */
const strictDecoder: EntityDecoderOptions = {
  setExternalEntities: () => undefined,
  addInputEntities: () => {
    // Called when the parser meets a DOCTYPE; the service's parser forbids them outright.
    throw new XmlSyntaxError(
      'DOCTYPE is disallowed when the feature "http://apache.org/xml/features/disallow-doctype-decl" set to true.',
    );
  },
  reset: () => undefined,
  setXmlVersion: () => undefined,
  decode: (text) =>
    text.replace(/&([^;&]*);/g, (_all, reference: string) => {
      const numeric = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(reference);
      if (numeric) {
        const [, hex, decimal] = numeric;
        const code = hex !== undefined ? Number.parseInt(hex, 16) : Number.parseInt(decimal ?? '', 10);
        if (!isXmlChar(code)) {
          throw new XmlSyntaxError(`Character reference "&${reference}" is an invalid XML character.`);
        }
        return String.fromCodePoint(code);
      }
      const value = PREDEFINED[reference];
      if (value === undefined) {
        throw new XmlSyntaxError(`The entity "${reference}" was referenced, but not declared.`);
      }
      return value;
    }),
};

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Keep every value a string: `0123` stays a name, not a number.
  parseTagValue: false,
  isArray: (_name, _path, _isLeaf, isAttribute) => !isAttribute,
  entityDecoder: strictDecoder,
});

function firstInvalidCharacter(source: string): number | undefined {
  for (const char of source) {
    const code = char.codePointAt(0) ?? 0;
    if (!isXmlChar(code)) return code;
  }
  return undefined;
}

// The validator lets text follow a document element written as `<Request/>`; the last markup must end the source.
function hasTrailingText(source: string): boolean {
  const rest = source.replace(/<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g, '').trimEnd();
  return !/^<(?:[^<>"']|"[^"]*"|'[^']*')*>$/.test(rest.slice(rest.lastIndexOf('<')));
}

/** The document element of `source`: its name and content. Throws XmlSyntaxError when `source` is not XML. */
function parseDocument(source: string): { name: string; element: XmlElement } {
  const invalid = firstInvalidCharacter(source);
  if (invalid !== undefined) {
    throw new XmlSyntaxError(
      `An invalid XML character (Unicode: 0x${invalid.toString(16)}) was found in the element content of the document.`,
    );
  }
  const validation = XMLValidator.validate(source);
  if (validation !== true) {
    // The validator's types promise a column it does not always give (an empty body has none).
    const { msg, line, col } = validation.err as { msg: string; line: number; col?: number };
    throw new XmlSyntaxError(`${msg} (line ${line}${col === undefined ? '' : `, column ${col}`})`);
  }
  if (hasTrailingText(source)) throw new XmlSyntaxError('Content is not allowed in trailing section.');
  // The parser's result is untyped; its shape is fixed by the options above.
  const document = parser.parse(source) as Record<string, XmlElement[]>;
  const names = Object.keys(document);
  const [name] = names;
  const elements = name === undefined ? [] : (document[name] ?? []);
  const [element] = elements;
  if (names.length !== 1 || name === undefined || elements.length !== 1 || element === undefined) {
    throw new XmlSyntaxError('The markup in the document following the root element must be well-formed.');
  }
  return { name, element };
}

/** Parses a request body whose document element must be `root`; anything else is the service's InvalidInput. */
export function parseRequestXml(body: string, root: string): XmlElement {
  let document: { name: string; element: XmlElement };
  try {
    document = parseDocument(body);
  } catch (error) {
    throw invalidInput(`Invalid XML ; ${(error as Error).message}`);
  }
  if (document.name !== root) {
    throw invalidInput(`Invalid XML ; expected ${root}, found ${document.name}`);
  }
  return document.element;
}

/** Every `name` child of `element`, in document order. */
export function childrenNamed(element: XmlElement | undefined, name: string): readonly XmlElement[] {
  if (element === undefined || typeof element === 'string' || !Object.hasOwn(element, name)) return [];
  const found = element[name];
  return Array.isArray(found) ? found : [];
}

/** The first `name` child of `element`. */
export const child = (element: XmlElement | undefined, name: string): XmlElement | undefined =>
  childrenNamed(element, name)[0];

/** The trimmed text of the first `name` child, undefined when there is none. */
export function textOf(element: XmlElement | undefined, name: string): string | undefined {
  const found = child(element, name);
  if (found === undefined) return undefined;
  if (typeof found === 'string') return found.trim();
  const text = found['#text'];
  return typeof text === 'string' ? text.trim() : '';
}
