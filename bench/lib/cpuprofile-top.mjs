// cpuprofile-top.mjs PROFILE [N]: the N functions with the most self time in a V8 .cpuprofile
// (node --cpu-prof), then the N with the most total time (self plus callees), one a line:
//   self   123.4 ms  12.3%  headsNamed dist/src/core/store.js:159
import { readFileSync } from 'node:fs';

const [file, n = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node cpuprofile-top.mjs PROFILE [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const label = (node) => {
  const f = node.callFrame;
  const where = f.url.replace(/^.*?\/(dist|node_modules)\//, '$1/').replace(/^file:\/\//, '');
  return `${f.functionName || '(anonymous)'} ${where}${where ? `:${f.lineNumber + 1}` : ''}`;
};
const self = new Map();
const total = new Map();
let all = 0;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  all += us;
  const leaf = label(nodes.get(id));
  self.set(leaf, (self.get(leaf) ?? 0) + us);
  const seen = new Set(); // a recursive function counts once per sample
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const name = label(nodes.get(at));
    if (!seen.has(name)) total.set(name, (total.get(name) ?? 0) + us);
    seen.add(name);
  }
});
for (const [title, table] of [['self', self], ['total', total]]) {
  console.log(`${file}: top ${n} by ${title} time, of ${(all / 1000).toFixed(0)} ms`);
  for (const [name, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
    console.log(`${title.padEnd(5)} ${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / all).toFixed(1).padStart(5)}%  ${name}`);
  }
}
