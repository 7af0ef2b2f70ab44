package dev.funnel.registry;

import static dev.funnel.registry.ConsolePages.csrfField;
import static dev.funnel.registry.ConsolePages.when;

import dev.funnel.common.PublicPorts;
import dev.funnel.registry.ConsolePages.Flash;
import dev.funnel.registry.ConsolePages.Tab;
import dev.funnel.registry.store.AuthKeyInfo;
import dev.funnel.registry.store.Tailnet;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The console's tailnets, auth keys and nodes pages: pure functions from the registry's values to
 * {@link Html}. Each change is a plain HTML form (works without script) carrying the CSRF token.
 */
final class ConsoleTables {

  private ConsoleTables() {
  }

  // ---------------------------------------------------------------- tailnets

  static Html tailnets(String csrf, Flash flash, List<Tailnet> tailnets) {
    Html rows = tailnets.isEmpty()
        ? Html.of("<tr><td colspan=\"5\" class=\"none\">No tailnets yet: add one below.</td></tr>")
        : Html.each(tailnets, t -> tailnetRow(csrf, t));
    return ConsolePages.page("Tailnets", Tab.TAILNETS, csrf, flash, Html.of("""
        <div class="card">
        <table>
        <thead><tr><th>Tailnet</th><th>Funnel</th><th>Allowed public ports</th><th>Created</th><th></th></tr></thead>
        <tbody>{}</tbody>
        </table>
        </div>
        <form method="post" action="/ui/tailnets" class="card inline" id="add-tailnet">{}
        <h2>Add a tailnet</h2>
        <label>Name <input name="name" required pattern="[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?" title="lower-case letters, digits and hyphens" placeholder="e.g. acme"></label>
        <label class="check"><input type="checkbox" name="funnel" value="on"> Funnel on</label>
        <fieldset class="ports"><legend>Ports</legend>{}</fieldset>
        <button type="submit">Add tailnet</button>
        </form>""", rows, csrfField(csrf), portBoxes(Set.of(443))));
  }

  private static Html tailnetRow(String csrf, Tailnet t) {
    String action = "/ui/tailnets/" + t.name();
    return Html.of("""
        <tr data-tailnet="{}">
        <td class="name">{}</td>
        <td><span class="badge {}">{}</span>
        <form method="post" action="{}/funnel" class="inline">{}<input type="hidden" name="funnel" value="{}"><button type="submit" class="small" name="toggle">Turn {}</button></form></td>
        <td><form method="post" action="{}/ports" class="inline">{}{}<button type="submit" class="small quiet">Save ports</button></form></td>
        <td class="muted">{}</td>
        <td class="actions"><form method="post" action="{}/delete" class="inline">{}<button type="submit" class="small danger">Remove</button></form></td>
        </tr>
        """, t.name(), t.name(), t.funnel() ? "on" : "off", t.funnel() ? "on" : "off",
        action, csrfField(csrf), t.funnel() ? "off" : "on", t.funnel() ? "off" : "on",
        action, csrfField(csrf), portBoxes(Set.copyOf(t.ports())),
        when(t.createdAt()),
        action, csrfField(csrf));
  }

  private static Html portBoxes(Set<Integer> checked) {
    return Html.each(PublicPorts.sorted(PublicPorts.ALLOWED), p -> Html.of(
        "<label class=\"check\"><input type=\"checkbox\" name=\"ports\" value=\"{}\"{}> {}</label>", p,
        Html.when(checked.contains(p), Html.of(" checked")), p));
  }

  // ---------------------------------------------------------------- keys

  /** The keys page; {@code created} (may be null) is a key just made: shown this once. */
  static Html keys(String csrf, Flash flash, List<AuthKeyInfo> keys, List<Tailnet> tailnets,
                   RegistryService.NewKey created, Instant now) {
    Html shown = created == null ? Html.EMPTY : Html.of("""
        <div class="card newkey" role="status"><h2>New auth key for tailnet {}</h2>
        <p>Copy it now: it is shown this once and the registry keeps only its hash.</p>
        <code id="new-key">{}</code>
        <p class="hint">On the node: <code>funnel node --authkey KEY --hostname NAME …</code> (key id {})</p></div>
        """, created.info().tailnet(), created.key(), created.info().id());
    Html rows = keys.isEmpty()
        ? Html.of("<tr><td colspan=\"8\" class=\"none\">No auth keys yet.</td></tr>")
        : Html.each(keys, k -> keyRow(csrf, k, now));
    Html form = tailnets.isEmpty()
        ? Html.of("<p class=\"card none\">Add a tailnet first: keys belong to one.</p>")
        : Html.of("""
            <form method="post" action="/ui/keys" class="card inline" id="add-key">{}
            <h2>Create an auth key</h2>
            <label>Tailnet <select name="tailnet">{}</select></label>
            <label class="check"><input type="checkbox" name="reusable" value="on"> Reusable</label>
            <label>Expires <select name="expiry">{}</select></label>
            <button type="submit">Create key</button>
            </form>""", csrfField(csrf),
            Html.each(tailnets, t -> Html.of("<option value=\"{}\">{}</option>", t.name(), t.name())),
            Html.each(ConsoleForms.EXPIRIES.keySet(), e -> Html.of("<option value=\"{}\">{}</option>", e,
                e.isEmpty() ? "never" : "in " + e)));
    return ConsolePages.page("Auth keys", Tab.KEYS, csrf, flash, Html.of("""
        {}{}
        <div class="card">
        <table>
        <thead><tr><th>Key id</th><th>Tailnet</th><th>Kind</th><th>Created</th><th>Expires</th><th>Used</th><th>State</th><th></th></tr></thead>
        <tbody>{}</tbody>
        </table>
        </div>""", shown, form, rows));
  }

  private static Html keyRow(String csrf, AuthKeyInfo k, Instant now) {
    String state = state(k, now);
    return Html.of("""
        <tr data-key="{}"><td><code>{}</code></td><td>{}</td><td>{}</td><td class="muted">{}</td><td class="muted">{}</td><td class="muted">{}</td>
        <td><span class="badge {}">{}</span></td>
        <td class="actions">{}</td></tr>
        """, k.id(), k.id(), k.tailnet(), k.reusable() ? "reusable" : "one-off", when(k.createdAt()),
        k.expiresAt() == null ? "never" : when(k.expiresAt()), when(k.usedAt()),
        state.equals("usable") ? "on" : "off", state,
        Html.when(!k.revoked(), Html.of("""
            <form method="post" action="/ui/keys/{}/revoke" class="inline">{}<button type="submit" class="small danger">Revoke</button></form>""",
            k.id(), csrfField(csrf))));
  }

  /** usable, revoked, expired or used (a one-off key that enrolled its node). */
  static String state(AuthKeyInfo k, Instant now) {
    if (k.revoked()) {
      return "revoked";
    }
    if (k.expiresAt() != null && !now.isBefore(k.expiresAt())) {
      return "expired";
    }
    return !k.reusable() && k.usedAt() != null ? "used" : "usable";
  }

  // ---------------------------------------------------------------- nodes

  static Html nodes(String csrf, Flash flash, List<NodeView> nodes, Map<String, Tailnet> tailnets) {
    return ConsolePages.page("Nodes", Tab.NODES, csrf, flash, Html.of("""
        <div class="card">
        <table>
        <thead><tr><th>Node</th><th>Public name</th><th>Status</th><th>Gateways</th><th>Public ports</th><th>Certificate</th><th>Enrolled</th><th></th></tr></thead>
        <tbody id="node-rows" hx-get="/ui/nodes/rows" hx-trigger="every 2s" hx-swap="innerHTML">{}</tbody>
        </table>
        </div>
        <p class="hint">Refreshes every 2 s. Removing a node frees its name and ends its sessions; its auth key decides
        whether it can enrol again. Certificates are made on each node (signed through its gateway, or by ACME); each node
        says through its gateway when its certificate expires (— until it has, or for a node with no certificate:
        <code>tcp://</code> targets only).</p>""",
        nodeRows(csrf, nodes, tailnets)));
  }

  /** The rows alone, for the page's own refresh. */
  static Html nodeRows(String csrf, List<NodeView> nodes, Map<String, Tailnet> tailnets) {
    if (nodes.isEmpty()) {
      return Html.of("<tr><td colspan=\"8\" class=\"none\">No nodes yet: start one with "
          + "<code>funnel node --authkey KEY …</code>.</td></tr>");
    }
    return Html.each(nodes, v -> nodeRow(csrf, v, tailnets.get(v.node().tailnet())));
  }

  private static Html nodeRow(String csrf, NodeView v, Tailnet tailnet) {
    String shortName = v.node().shortName();
    Html ports = v.ports().isEmpty() ? Html.of("<span class=\"muted\">—</span>")
        : Html.each(v.ports(), p -> refusal(tailnet, p)
            .map(why -> Html.of("<span class=\"port refused\"><span class=\"badge off\">{} refused</span>"
                + "<span class=\"why\">{}</span></span> ", p, why))
            .orElse(Html.of("<span class=\"badge on\">{}</span> ", p)));
    return Html.of("""
        <tr data-node="{}"><td class="name">{}</td><td><code>{}</code></td>
        <td><span class="badge {}">{}</span></td><td class="muted">{}</td><td>{}</td><td class="cert">{}</td><td class="muted">{}</td>
        <td class="actions"><form method="post" action="/ui/nodes/{}/delete" class="inline">{}<button type="submit" class="small danger">Remove</button></form></td></tr>
        """, shortName, shortName, v.fqdn(), v.online() ? "on" : "off", v.online() ? "online" : "offline",
        v.gateways().isEmpty() ? "—" : String.join(", ", v.gateways()), ports, certificate(v, java.time.Instant.now()),
        when(v.node().createdAt()), shortName, csrfField(csrf));
  }

  /** Days left on the node's certificate (a warning badge under 14 days, expired in red), or — while unknown. */
  static Html certificate(NodeView v, java.time.Instant now) {
    Long days = v.certDaysLeft(now);
    if (days == null) {
      return Html.of("<span class=\"muted\">—</span>");
    }
    if (days < 0) {
      return Html.of("<span class=\"badge off\">expired</span>");
    }
    return Html.of("<span class=\"badge {}\" title=\"expires {}\">{} day{} left</span>", days < 14 ? "off" : "on",
        when(v.certNotAfter()), days, days == 1 ? "" : "s");
  }

  /** Why the tailnet's policy refuses clients on {@code port}; empty when it lets them through. */
  static Optional<String> refusal(Tailnet tailnet, int port) {
    if (tailnet == null) {
      return Optional.of("tailnet unknown");
    }
    if (!tailnet.funnel()) {
      return Optional.of("Funnel is off for the tailnet");
    }
    if (!tailnet.allows(port)) {
      return Optional.of("the tailnet does not allow this port");
    }
    return Optional.empty();
  }

  static Map<String, Tailnet> byName(Collection<Tailnet> tailnets) {
    return tailnets.stream().collect(Collectors.toMap(Tailnet::name, Function.identity()));
  }
}
