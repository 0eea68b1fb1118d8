import t from 'tap';
import { parseIfHeader, submittedTokens } from '../../../protocols/webdav/http/if-header.js';
import { hrefOf, parseRequestTarget, parseTarget } from '../../../protocols/webdav/http/paths.js';
import { parseRange } from '../../../protocols/webdav/http/range.js';
import { parseTimeout } from '../../../protocols/webdav/http/dav-headers.js';
import { parseXml } from '../../../protocols/webdav/xml/xml-parse.js';
import { serializeContent } from '../../../protocols/webdav/xml/xml-write.js';

function refused400(t: { equal(a: unknown, b: unknown, m: string): unknown }, fn: () => unknown, msg: string): void {
  let status: unknown = 'no error';
  try {
    fn();
  } catch (e) {
    status = (e as { status?: unknown }).status;
  }
  t.equal(status, 400, msg);
}

t.test('If header parser', async (t) => {
  t.same(parseIfHeader('(<opaquelocktoken:a>)'), [{ resource: null, conditions: [{ not: false, kind: 'token', value: 'opaquelocktoken:a' }] }]);
  const tagged = parseIfHeader('<http://h/a%20b> (<t1> ["e1"]) (Not <DAV:no-lock>) </c> ([W/"w"])');
  t.same(tagged.map((l) => l.resource), ['/a b', '/a b', '/c']);
  t.same(tagged[1]!.conditions[0], { not: true, kind: 'token', value: 'DAV:no-lock' });
  t.same([...submittedTokens(tagged)], ['t1']);
  for (const bad of ['', '(', '(<a>', '(<a> <b>', '<x> (<a>) (<b>) <', '(<a>) <http://h/> (<b>)', '(Nope <a>)', '([e])', '(<>)']) {
    refused400(t, () => parseIfHeader(bad), `refused: ${JSON.stringify(bad)}`);
  }
  refused400(t, () => parseIfHeader('(' + '<a>'.repeat(10000) + ')'), 'too long');
});

t.test('request targets and hrefs', async (t) => {
  t.same(parseTarget('/a%20b/c/'), { path: '/a b/c', trailingSlash: true });
  t.same(parseTarget('http://host:1/x%23y?q=1'), { path: '/x#y', trailingSlash: false });
  t.same(parseTarget('/'), { path: '/', trailingSlash: false });
  t.same(parseTarget('//a///b'), { path: '/a/b', trailingSlash: false });
  t.equal(parseTarget('/a\\b').path, '/a\\b', 'a backslash is an ordinary name character');
  for (const bad of ['/..', '/a/%2e%2E/b', '/a%2fb', '/%00', '/%', '/%e0%80', 'relative', '/.']) {
    refused400(t, () => parseTarget(bad), `refused: ${bad}`);
  }
  refused400(t, () => parseRequestTarget('/a#b'), 'fragment');
  t.equal(hrefOf('/a b/#1 %/ü&;+=', false), '/a%20b/%231%20%25/%C3%BC%26%3B%2B%3D');
  t.equal(hrefOf('/d', true), '/d/');
  t.equal(hrefOf('/', true), '/');
  for (const name of ['a b', '#', '%', 'ü', "&;+=!'()*"]) t.equal(parseTarget(hrefOf('/' + name, false)).path, '/' + name, `round trip ${name}`);
});

t.test('Range parser', async (t) => {
  t.same(parseRange(undefined, 10), { kind: 'whole' });
  t.same(parseRange('bytes=0-0', 10), { kind: 'partial', start: 0, end: 0 });
  t.same(parseRange('bytes=-20', 10), { kind: 'partial', start: 0, end: 9 });
  t.same(parseRange('bytes=9-', 10), { kind: 'partial', start: 9, end: 9 });
  t.same(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=99999999999999999999-', 10), { kind: 'unsatisfiable' }, 'absurd numbers');
  t.same(parseRange('bytes=1-2, 4-5', 10), { kind: 'whole' });
  t.same(parseRange('bytes=1-2, x', 10), { kind: 'unsatisfiable' });
});

t.test('Timeout header', async (t) => {
  t.equal(parseTimeout(undefined), 3600);
  t.equal(parseTimeout('Second-60'), 60);
  t.equal(parseTimeout('Infinite, Second-4100000000'), 7 * 24 * 3600);
  t.equal(parseTimeout('Second-0'), 1);
  t.equal(parseTimeout('garbage'), 3600);
});

t.test('XML: namespaces resolved, values stored self-contained, DOCTYPE refused', async (t) => {
  const el = parseXml('<a:x xmlns:a="urn:a" xmlns="urn:d"><y k="v" a:k2="w">t &amp; &#65;</y><![CDATA[<raw>]]></a:x>');
  t.equal(el.ns, 'urn:a');
  t.equal(el.local, 'x');
  t.equal(serializeContent(el.children), '<y xmlns="urn:d" k="v" xmlns:a0="urn:a" a0:k2="w">t &amp; A</y>&lt;raw&gt;');
  t.same(parseXml(serializeContent([parseXml('<q xmlns="urn:q"><r/></q>')])).local, 'q', 'a stored value parses again');
  t.throws(() => parseXml('<!DOCTYPE x><x/>'), /DOCTYPE/);
  t.throws(() => parseXml('<x>&ext;</x>'));
  t.throws(() => parseXml('<x><y></x>'));
  t.throws(() => parseXml('<a>'.repeat(200) + '</a>'.repeat(200)), /deeply/);
});
