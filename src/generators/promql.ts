// One PromQL helper the generated assets share: adding a label matcher to every selector of this
// exporter's metrics (and `up`), as monitoring mixins do with their job selector, so dashboards and
// rules never mix in another exporter's series of the same name (lablabs/cloudflare-exporter exposes
// cloudflare_tunnel_info with other labels). A selector that already names a job is left alone.
export function withSelector(expr: string, matcher: string): string {
  return expr.replace(
    /\b((?:cloudflare|posthog)_[a-z0-9_]+|up)\b(\{([^}]*)\})?/g,
    (match, name: string, braces: string | undefined, inner: string | undefined) => {
      if (braces !== undefined && /\bjob\s*(=|!=|=~|!~)/.test(inner ?? '')) return match;
      return `${name}{${matcher}${inner ? `,${inner}` : ''}}`;
    },
  );
}
