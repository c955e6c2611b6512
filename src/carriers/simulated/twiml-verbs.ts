import { XMLParser } from 'fast-xml-parser';

export type TwimlNode = Record<string, unknown> & { ':@'?: Record<string, string> };

export interface TwimlVerb {
  verb: string;
  attributes: Record<string, string>;
  children: TwimlNode[];
  /** The verb's own text: what `<Say>` speaks, the number or URI of a noun. */
  text: string;
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, trimValues: true, parseTagValue: false, parseAttributeValue: false, htmlEntities: true });

const toVerb = (node: TwimlNode): TwimlVerb => {
  const verb = Object.keys(node).find((key) => key !== ':@')!;
  const children = (node[verb] as TwimlNode[]) ?? [];
  const text = children.map((child) => (typeof child['#text'] === 'string' || typeof child['#text'] === 'number' ? String(child['#text']) : '')).join('');
  return { verb, attributes: node[':@'] ?? {}, children, text };
};

/** The verbs of a TwiML document, in order, as the simulated network reads them. */
export function verbsOf(twiml: string): TwimlVerb[] {
  const document = parser.parse(twiml) as TwimlNode[];
  const response = document.find((node) => 'Response' in node)?.Response as TwimlNode[] | undefined;
  return (response ?? []).map(toVerb);
}

/** The nouns inside a verb (`<Number>`, `<Sip>` in `<Dial>`; `<Stream>` in `<Connect>`; `<Parameter>` in `<Stream>`). */
export const nounsOf = (verb: Pick<TwimlVerb, 'children'>): TwimlVerb[] => verb.children.filter((child) => !('#text' in child)).map(toVerb);
