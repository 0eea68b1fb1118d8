import type { DavContext } from '../dav-context.js';
import { readXmlBody } from '../http/request-body.js';
import type { XmlElement } from '../xml/xml-parse.js';

/** The request's XML body (null if empty), bounded by the configured cap. */
export function xmlBodyOf(ctx: DavContext): Promise<XmlElement | null> {
  return readXmlBody(ctx.req, ctx.services.maxXmlBytes, () => ctx.state.continueBody());
}
