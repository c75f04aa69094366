// The engine.io options both reference scripts (eio-echo.mjs, sio-testkit.mjs)
// take under sio-server's names: --transports, --allow-upgrades, --cookie and
// --add-trailing-slash, with their SIO_* environment variables.

/** The defaults, from the environment as sio-server reads it. */
export function engineDefaults(env = process.env) {
  const off = (v) => /^(0|false)$/.test(v ?? "");
  return {
    transports: (env.SIO_TRANSPORTS || "polling,websocket").split(","),
    allowUpgrades: !off(env.SIO_ALLOW_UPGRADES),
    cookie: env.SIO_COOKIE || null,
    addTrailingSlash: !off(env.SIO_ADD_TRAILING_SLASH),
  };
}

/**
 * Applies one of these options to `o` (from engineDefaults()); false when
 * `name` is not one of them. `inline` is the value after "=", `value()` takes
 * the next argument, `usage(msg)` exits. Switches are on alone, or =1/=0/true/false.
 */
export function applyEngineOption(o, name, inline, value, usage) {
  const flag = () => {
    if (inline === undefined) return true;
    if (!/^(1|0|true|false)$/.test(inline)) usage(`${name} takes 1, 0, true or false`);
    return /^(1|true)$/.test(inline);
  };
  switch (name) {
    case "--transports": o.transports = value().split(","); return true;
    case "--allow-upgrades": o.allowUpgrades = flag(); return true;
    case "--cookie": o.cookie = value(); return true;
    case "--add-trailing-slash": o.addTrailingSlash = flag(); return true;
    default: return false;
  }
}

/** The engine.io ServerOptions they give (addTrailingSlash goes to attach()). */
export function engineServerOptions(o) {
  return {
    transports: o.transports,
    allowUpgrades: o.allowUpgrades,
    ...(o.cookie ? { cookie: { name: o.cookie } } : {}),
  };
}
