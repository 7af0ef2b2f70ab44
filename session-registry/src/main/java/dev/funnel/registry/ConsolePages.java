package dev.funnel.registry;

import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;

/**
 * The console's page frame, sign-in page, overview with live figures, and error page: pure
 * functions from values to {@link Html}. Every value goes through {@link Html}'s escaping; the
 * markup has no inline script, no inline style and no event-handler attribute (the
 * Content-Security-Policy is {@code default-src 'self'}).
 */
final class ConsolePages {

  /** The CSRF token's form field (Vert.x Web's {@code CSRFHandler} reads the header or this field). */
  static final String CSRF_FIELD = "X-XSRF-TOKEN";
  /** Where the console lives on the admin listener. */
  static final String BASE = "/ui";

  enum Tab {
    OVERVIEW("Overview", BASE + "/"),
    TAILNETS("Tailnets", BASE + "/tailnets"),
    KEYS("Auth keys", BASE + "/keys"),
    NODES("Nodes", BASE + "/nodes");

    final String title;
    final String href;

    Tab(String title, String href) {
      this.title = title;
      this.href = href;
    }
  }

  private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT)
      .withZone(ZoneOffset.UTC);

  private ConsolePages() {
  }

  /** A whole page: head, navigation (when signed in: {@code tab} not null), a flash message, the body. */
  static Html page(String title, Tab tab, String csrf, Flash flash, Html body) {
    Html nav = tab == null ? Html.EMPTY : Html.of("""
        <nav class="tabs">{}</nav>
        <form method="post" action="/ui/sign-out" class="signout">{}<button type="submit" class="quiet">Sign out</button></form>""",
        Html.each(java.util.List.of(Tab.values()), t -> Html.of("<a href=\"{}\"{}>{}</a>", t.href,
            Html.when(t == tab, Html.of(" class=\"active\" aria-current=\"page\"")), t.title)),
        csrfField(csrf));
    return Html.of("""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0}'>
        <title>{} · Funnel admin</title>
        <link rel="icon" href="/ui/static/favicon.svg" type="image/svg+xml">
        <link rel="stylesheet" href="/ui/static/console.css">
        <script src="/ui/static/htmx/htmx.min.js" defer></script>
        </head>
        <body>
        <header class="top"><a class="brand" href="/ui/">Funnel <span>admin</span></a>{}</header>
        <main>
        {}<h1>{}</h1>
        {}
        </main>
        </body>
        </html>
        """, title, nav, flash(flash), title, body);
  }

  /** A message carried to the next page after a change: {@code ok} or an error. */
  record Flash(boolean ok, String message) {
  }

  static Html flash(Flash flash) {
    if (flash == null) {
      return Html.EMPTY;
    }
    return Html.of("<p class=\"flash {}\" role=\"{}\">{}</p>\n", flash.ok() ? "ok" : "error",
        flash.ok() ? "status" : "alert", flash.message());
  }

  static Html csrfField(String csrf) {
    return Html.of("<input type=\"hidden\" name=\"{}\" value=\"{}\">", CSRF_FIELD, csrf);
  }

  /** The sign-in page; {@code error} (may be null) says why the last attempt failed. */
  static Html signIn(String csrf, String error) {
    return signIn(csrf, error, false);
  }

  /** The sign-in page, with the OpenID Connect button when {@code oidc}. */
  static Html signIn(String csrf, String error, boolean oidc) {
    // A link, not a form: the CSP's form-action 'self' would stop a form's redirect to the provider.
    Html provider = !oidc ? Html.EMPTY : Html.of("""
        <div class="card narrow provider">
        <p class="hint">Or sign in with your account at the organisation's OpenID Connect provider
        (only the addresses this server allows).</p>
        <a class="button" id="oidc-sign-in" href="/ui/oidc/sign-in">Sign in with OpenID Connect</a>
        </div>""");
    return page("Sign in", null, csrf, error == null ? null : new Flash(false, error), Html.of("""
        <form method="post" action="/ui/sign-in" class="card narrow">{}
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
        <p class="hint">The token is in the file <code>admin-token</code> in the server's state directory
        (<code>--state</code>, default <code>.funnel</code>).</p>
        <button type="submit">Sign in</button>
        </form>
        {}""", csrfField(csrf), provider));
  }

  /**
   * After an OpenID Connect sign-in: moves on to the overview by itself ({@code meta refresh}, no
   * script), so the browser's next request starts on the console and carries its SameSite=Strict cookie.
   */
  static Html signedIn() {
    return Html.of("""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="refresh" content="0;url=/ui/">
        <title>Signed in · Funnel admin</title>
        <link rel="icon" href="/ui/static/favicon.svg" type="image/svg+xml">
        <link rel="stylesheet" href="/ui/static/console.css">
        </head>
        <body><main><p>Signed in. <a href="/ui/">Continue to the console</a>.</p></main></body>
        </html>
        """);
  }

  /** The overview: live figures that refresh by themselves. */
  static Html overview(String csrf, Flash flash, Html figures) {
    return page("Overview", Tab.OVERVIEW, csrf, flash, Html.of("""
        <section id="figures" class="figures" hx-get="/ui/figures" hx-trigger="every 2s" hx-swap="innerHTML">
        {}</section>
        <p class="hint">Figures refresh every 2 s from what every service publishes (the same as <code>funnel admin status</code>).</p>""",
        figures));
  }

  /** What the overview shows; refreshed on its own every 2 s. */
  record Counts(int nodes, int nodesOnline, int sessions, int tailnets) {
  }

  /**
   * The cluster's figures from {@link ClusterStats#summary}, as {@code GET /v1/status} gives them:
   * tunnels open and new tunnels per second at the frontends (the gateways' when no frontend
   * reports), refusals by reason over the last minute.
   */
  static Html figures(Counts counts, ClusterStats.Summary s) {
    Html refusals = s.refusalsLastMinute().isEmpty()
        ? Html.of("<p class=\"none\">No refusals in the last minute.</p>")
        : Html.of("""
            <table class="compact"><thead><tr><th>Reason</th><th class="num">Refused</th></tr></thead><tbody>{}</tbody></table>""",
            Html.each(s.refusalsLastMinute().entrySet(), (Map.Entry<String, Long> e) -> Html.of(
                "<tr data-reason=\"{}\"><td>{}</td><td class=\"num\">{}</td></tr>", e.getKey(),
                e.getKey().replace('_', ' '), e.getValue())));
    return Html.of("""
        <div class="cards">
        {}{}{}{}{}
        </div>
        <div class="card"><h2>Refusals, last minute</h2>{}</div>
        """,
        card("nodes-online", "Nodes online", counts.nodesOnline() + " / " + counts.nodes()),
        card("sessions", "Node sessions", Integer.toString(counts.sessions())),
        card("tailnets", "Tailnets", Integer.toString(counts.tailnets())),
        card("tunnels-open", "Tunnels open", Long.toString(s.tunnelsOpen())),
        card("tunnels-rate", "New tunnels / s", rate(StatusView.perSecond(s.newTunnelsPerSecond()))),
        refusals);
  }

  private static Html card(String id, String label, String value) {
    return Html.of("<div class=\"card figure\" id=\"{}\"><div class=\"value\">{}</div><div class=\"label\">{}</div></div>",
        id, value, label);
  }

  /** An error page (a refused form, an expired CSRF token, a store failure). */
  static Html error(int status, String message) {
    return page(status == 403 ? "Refused" : "Something went wrong", null, "", new Flash(false, message),
        Html.of("<p><a href=\"/ui/\">Back to the console</a></p>"));
  }

  static String when(Instant t) {
    return t == null ? "—" : WHEN.format(t);
  }

  /** A rate as {@code funnel admin status} prints it: 0.0, 0.4, 2.35. */
  static String rate(double v) {
    return new DecimalFormat("0.0#", DecimalFormatSymbols.getInstance(Locale.ROOT)).format(v);
  }
}
