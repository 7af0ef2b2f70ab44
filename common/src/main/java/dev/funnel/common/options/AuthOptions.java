package dev.funnel.common.options;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Who may pass the login gate of one route (one public port and path prefix). Immutable.
 *
 * <p>Methods, from the value of {@code --auth PORT[:/PATH]=…}, comma-separated (repeating the flag for the
 * same route adds methods): {@code oidc} (a browser login at the node's OpenID Connect provider, see
 * {@link OidcOptions}), {@code basic:HTPASSWD_FILE} (HTTP basic, bcrypt lines of an htpasswd file),
 * {@code bearer:TOKENS_FILE} (static bearer tokens, one a line, optionally {@code NAME TOKEN}). A request
 * that passes any one method is let in.
 *
 * <p>Allow lists apply to OpenID Connect users (basic and bearer files are their own allow list):
 * {@code allowEmails} (exact, case-insensitive; {@code *} is any user the provider vouches for),
 * {@code allowDomains} (the part after {@code @}, exact), {@code allowGroups} (an entry of the ID token's
 * {@code groups} claim). A user matching any entry is allowed; {@code oidc} with all three empty is refused
 * by {@link #validate}, so "anyone with an account at the provider" is never the silent default.
 *
 * <p>{@code skipPaths}: path prefixes that bypass the gate (machine callers such as webhooks), matched on the
 * normalised path at a segment boundary ({@code /webhooks} matches {@code /webhooks} and {@code /webhooks/x},
 * not {@code /webhooksx}).
 */
public record AuthOptions(boolean oidc, String htpasswdFile, String tokensFile, List<String> allowEmails,
    List<String> allowDomains, List<String> allowGroups, List<String> skipPaths) {

  /** The method spellings {@link #parse} accepts. */
  public static final String ACCEPTED = "oidc, basic:HTPASSWD_FILE, bearer:TOKENS_FILE (comma-separated to combine)";

  public AuthOptions {
    allowEmails = List.copyOf(allowEmails);
    allowDomains = List.copyOf(allowDomains);
    allowGroups = List.copyOf(allowGroups);
    skipPaths = List.copyOf(skipPaths);
  }

  /** No method: a gate that lets nobody in until one is added (see {@link #any()}). */
  public static AuthOptions none() {
    return new AuthOptions(false, null, null, List.of(), List.of(), List.of(), List.of());
  }

  /** True when at least one method is on. */
  public boolean any() {
    return oidc || htpasswdFile != null || tokensFile != null;
  }

  /**
   * Parses the methods of one {@code --auth} value ({@code oidc}, {@code basic:FILE}, {@code bearer:FILE},
   * comma-separated). Throws IllegalArgumentException with a reason a user can act on.
   */
  public static AuthOptions parse(String value) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("--auth needs a method: " + ACCEPTED);
    }
    AuthOptions result = none();
    for (String part : value.split(",")) {
      String method = part.trim();
      int colon = method.indexOf(':');
      String name = (colon < 0 ? method : method.substring(0, colon)).toLowerCase(Locale.ROOT);
      String file = colon < 0 ? "" : method.substring(colon + 1).trim();
      AuthOptions one = switch (name) {
        case "oidc" -> {
          if (colon >= 0) {
            throw new IllegalArgumentException("bad --auth method '" + method
                + "': oidc takes no file (set the provider with --oidc-issuer, --oidc-client-id, --oidc-secret-file)");
          }
          yield new AuthOptions(true, null, null, List.of(), List.of(), List.of(), List.of());
        }
        case "basic", "bearer" -> {
          if (file.isEmpty()) {
            throw new IllegalArgumentException("bad --auth method '" + method + "': " + name + " needs a file, e.g. "
                + name + (name.equals("basic") ? ":/etc/funnel/htpasswd" : ":/etc/funnel/tokens"));
          }
          yield name.equals("basic")
              ? new AuthOptions(false, file, null, List.of(), List.of(), List.of(), List.of())
              : new AuthOptions(false, null, file, List.of(), List.of(), List.of(), List.of());
        }
        default -> throw new IllegalArgumentException("bad --auth method '" + method + "': use " + ACCEPTED);
      };
      result = result.merge(one);
    }
    return result;
  }

  /**
   * This and {@code other} together: methods of both, allow lists and skip paths joined. Two different
   * htpasswd (or tokens) files for one route are refused.
   */
  public AuthOptions merge(AuthOptions other) {
    return new AuthOptions(oidc || other.oidc, pick("basic", htpasswdFile, other.htpasswdFile),
        pick("bearer", tokensFile, other.tokensFile), union(allowEmails, other.allowEmails),
        union(allowDomains, other.allowDomains), union(allowGroups, other.allowGroups),
        union(skipPaths, other.skipPaths));
  }

  public AuthOptions withAllowEmails(List<String> emails) {
    List<String> clean = new ArrayList<>();
    for (String e : emails) {
      String email = e.trim().toLowerCase(Locale.ROOT);
      if (!email.equals("*") && (email.indexOf('@') <= 0 || email.indexOf('@') != email.lastIndexOf('@')
          || email.endsWith("@"))) {
        throw new IllegalArgumentException("bad --allow-email '" + e.trim() + "': expected an address like alice@example.com"
            + " (or * for any user the provider signs in)");
      }
      clean.add(email);
    }
    return new AuthOptions(oidc, htpasswdFile, tokensFile, union(allowEmails, clean), allowDomains, allowGroups, skipPaths);
  }

  public AuthOptions withAllowDomains(List<String> domains) {
    List<String> clean = new ArrayList<>();
    for (String d : domains) {
      String domain = d.trim().toLowerCase(Locale.ROOT);
      if (domain.startsWith("@")) {
        domain = domain.substring(1);
      }
      if (domain.isEmpty() || domain.contains("@") || domain.contains("/") || !domain.contains(".")) {
        throw new IllegalArgumentException("bad --allow-domain '" + d.trim() + "': expected a mail domain like example.com");
      }
      clean.add(domain);
    }
    return new AuthOptions(oidc, htpasswdFile, tokensFile, allowEmails, union(allowDomains, clean), allowGroups, skipPaths);
  }

  public AuthOptions withAllowGroups(List<String> groups) {
    List<String> clean = new ArrayList<>();
    for (String g : groups) {
      if (g.isBlank()) {
        throw new IllegalArgumentException("bad --allow-group: empty group name");
      }
      clean.add(g.trim());
    }
    return new AuthOptions(oidc, htpasswdFile, tokensFile, allowEmails, allowDomains, union(allowGroups, clean), skipPaths);
  }

  public AuthOptions withSkipPaths(List<String> paths) {
    List<String> clean = new ArrayList<>();
    for (String p : paths) {
      String path = p.trim();
      if (!path.startsWith("/") || path.contains("..") || path.contains("?") || path.contains("#")) {
        throw new IllegalArgumentException("bad --auth-skip '" + path + "': expected a path prefix like /webhooks/");
      }
      clean.add(path);
    }
    return new AuthOptions(oidc, htpasswdFile, tokensFile, allowEmails, allowDomains, allowGroups, union(skipPaths, clean));
  }

  /** Splits a flag value like {@code a@x,b@y} into its entries (empty entries dropped). */
  public static List<String> csv(String value) {
    List<String> out = new ArrayList<>();
    if (value != null) {
      for (String part : value.split(",")) {
        if (!part.isBlank()) {
          out.add(part.trim());
        }
      }
    }
    return out;
  }

  /**
   * Checks this route's gate is complete: {@code null} when it is, else one line naming the flag to add.
   *
   * @param provider the node's OpenID Connect provider, or {@code null} when none is configured
   */
  public String validate(OidcOptions provider) {
    if (!any()) {
      return "--auth needs a method: " + ACCEPTED;
    }
    if (oidc && provider == null) {
      return "--auth …=oidc needs the provider: --oidc-issuer URL --oidc-client-id ID --oidc-secret-file FILE";
    }
    if (oidc && allowEmails.isEmpty() && allowDomains.isEmpty() && allowGroups.isEmpty()) {
      return "--auth …=oidc needs an allow list: --allow-email ADDR, --allow-domain DOMAIN or --allow-group GROUP"
          + " (--allow-email '*' lets in anyone the provider signs in)";
    }
    return null;
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject().put("oidc", oidc);
    if (htpasswdFile != null) {
      json.put("basic", htpasswdFile);
    }
    if (tokensFile != null) {
      json.put("bearer", tokensFile);
    }
    return json.put("allowEmails", new JsonArray(allowEmails)).put("allowDomains", new JsonArray(allowDomains))
        .put("allowGroups", new JsonArray(allowGroups)).put("skipPaths", new JsonArray(skipPaths));
  }

  /** The inverse of {@link #toJson()}; entries are checked as the flags are. */
  public static AuthOptions fromJson(JsonObject json) {
    AuthOptions base = new AuthOptions(json.getBoolean("oidc", false), json.getString("basic"),
        json.getString("bearer"), List.of(), List.of(), List.of(), List.of());
    return base.withAllowEmails(strings(json, "allowEmails")).withAllowDomains(strings(json, "allowDomains"))
        .withAllowGroups(strings(json, "allowGroups")).withSkipPaths(strings(json, "skipPaths"));
  }

  /** One line for {@code serve list}: methods, allow lists, skips. */
  public String describe() {
    List<String> parts = new ArrayList<>();
    if (oidc) {
      parts.add("oidc");
    }
    if (htpasswdFile != null) {
      parts.add("basic:" + htpasswdFile);
    }
    if (tokensFile != null) {
      parts.add("bearer:" + tokensFile);
    }
    StringBuilder sb = new StringBuilder(String.join(",", parts));
    if (!allowEmails.isEmpty()) {
      sb.append(" allow-email=").append(String.join(",", allowEmails));
    }
    if (!allowDomains.isEmpty()) {
      sb.append(" allow-domain=").append(String.join(",", allowDomains));
    }
    if (!allowGroups.isEmpty()) {
      sb.append(" allow-group=").append(String.join(",", allowGroups));
    }
    if (!skipPaths.isEmpty()) {
      sb.append(" skip=").append(String.join(",", skipPaths));
    }
    return sb.toString();
  }

  private static List<String> strings(JsonObject json, String key) {
    JsonArray array = json.getJsonArray(key);
    List<String> out = new ArrayList<>();
    if (array != null) {
      for (Object o : array) {
        out.add(String.valueOf(o));
      }
    }
    return out;
  }

  private static String pick(String method, String a, String b) {
    if (a != null && b != null && !a.equals(b)) {
      throw new IllegalArgumentException("--auth: two " + method + " files for one route (" + a + ", " + b
          + "); put the entries in one file");
    }
    return a != null ? a : b;
  }

  private static List<String> union(List<String> a, List<String> b) {
    Set<String> all = new LinkedHashSet<>(a);
    all.addAll(b);
    return List.copyOf(all);
  }
}
