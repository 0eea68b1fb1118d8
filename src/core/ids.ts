/** Node and change ids are `<instance id>:<counter>`; data ids are local integers. */
export const ROOT_NODE = 'root';

export function makeId(instanceId: string, counter: number): string {
  return `${instanceId}:${counter}`;
}

export function parseId(id: string): { origin: string; counter: number } {
  const at = id.lastIndexOf(':');
  const counter = Number(id.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(counter) || counter < 1) throw new Error(`malformed id: ${id}`);
  return { origin: id.slice(0, at), counter };
}
