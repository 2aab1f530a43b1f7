/**
 * The version of the interface the C addons (datapath/native: af_packet.node, raw_ip.node) offer
 * their loaders: each exports it as `abi` (OFSWITCH_ADDON_ABI in datapath/native/napi_util.h), and
 * each loader refuses an addon whose `abi` differs. A build left over from older sources (a copied
 * build directory, a checkout that moved on) then fails where it is loaded, with one message that
 * says what to run, instead of calling a function that is missing or reads its arguments otherwise
 * inside the packet path. Raise both numbers together with any change to what the addons offer.
 */
export const ADDON_ABI = 1;

/** Throws, naming the file and `bash scripts/setup.sh`, unless `addon.abi` is ADDON_ABI. */
export function checkAddonAbi(name: string, file: string, addon: { readonly abi?: unknown }): void {
  if (addon.abi === ADDON_ABI) return;
  const built = typeof addon.abi === 'number' ? `interface version ${addon.abi}` : 'no interface version';
  throw new Error(
    `${name} addon at ${file} was built from other sources than these (${built}; these need ${ADDON_ABI}): ` +
      'rebuild it with bash scripts/setup.sh',
  );
}
