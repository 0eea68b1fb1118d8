import net from 'node:net';

/**
 * Which client addresses may use the server: addresses and CIDRs, IPv4 or IPv6.
 * The default is loopback only. '*' or 'any' allows everyone.
 * @throws Error for an entry that is neither.
 */
export function allowList(entries: readonly string[] | undefined): (address: string) => boolean {
  const list = entries && entries.length ? entries : ['127.0.0.0/8', '::1'];
  if (list.some((e) => e === '*' || e === 'any')) return () => true;
  const block = new net.BlockList();
  for (const raw of list) {
    const e = raw.trim();
    const [addr, bits] = e.split('/');
    const family = net.isIP(addr ?? '');
    if (!family) throw new Error(`NFS_BAD_ALLOW: ${JSON.stringify(raw)} is not an address or CIDR (e.g. 192.168.1.0/24)`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) block.addAddress(addr!, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`NFS_BAD_ALLOW: ${JSON.stringify(raw)}: bad prefix length`);
      block.addSubnet(addr!, prefix, type);
    }
  }
  return (address) => {
    const family = net.isIP(address);
    if (!family) return false;
    if (block.check(address, family === 4 ? 'ipv4' : 'ipv6')) return true;
    // IPv4 clients reaching an IPv6 socket arrive as ::ffff:a.b.c.d (the RPC layer unmaps them too)
    return family === 4 && block.check(`::ffff:${address}`, 'ipv6');
  };
}
