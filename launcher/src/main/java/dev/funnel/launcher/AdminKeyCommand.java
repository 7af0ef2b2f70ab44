package dev.funnel.launcher;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/** {@code funnel admin key add|list|rm}. */
@Command(name = "key", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
    description = "Make, list or revoke auth keys: a node presents one the first time it connects.",
    subcommands = {AdminKeyCommand.Add.class, AdminKeyCommand.ListAll.class, AdminKeyCommand.Remove.class},
    footer = {"", "Examples:",
        "  KEY=$(funnel admin key add --tailnet demo | tail -1)",
        "  funnel admin key list",
        "  funnel admin key rm k3x9q2m7a1b0c"})
final class AdminKeyCommand {

  @Command(name = "add", mixinStandardHelpOptions = true,
      description = {"Make an auth key for a tailnet. The key is printed alone on the last line, and only now: "
          + "the registry keeps only its hash."},
      footer = {"", "Examples:",
          "  funnel admin key add --tailnet demo",
          "  KEY=$(funnel admin key add --tailnet demo --reusable --expiry 7d | tail -1)"})
  static final class Add extends AdminAction {
    @Option(names = "--tailnet", paramLabel = "NAME", required = true, description = "The tailnet it enrols nodes in.")
    String tailnet;

    @Option(names = "--reusable", description = "Enrol any number of nodes (default: one node, once).")
    boolean reusable;

    @Option(names = "--expiry", paramLabel = "DURATION", converter = ExpiryConverter.class,
        description = "Stop enrolling nodes after this long: 90s, 30m, 24h, 7d (default: never).")
    Duration expiry;

    @Option(names = "--json", description = "Print the API's JSON (the key included).")
    boolean json;

    @Override
    void run(ApiClient client, PrintWriter out) {
      JsonObject body = new JsonObject().put("tailnet", tailnet).put("reusable", reusable);
      if (expiry != null) {
        body.put("expirySeconds", expiry.toSeconds());
      }
      JsonObject key = client.post("/v1/keys", body);
      if (json) {
        out.println(key.encodePrettily());
        return;
      }
      out.println("auth key " + key.getString("id") + " for tailnet " + key.getString("tailnet") + " ("
          + (key.getBoolean("reusable", false) ? "reusable" : "one node, once") + ", expires "
          + AdminTable.time(key.getString("expiresAt"), "never") + "); shown only now:");
      out.println(key.getString("key"));
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List auth keys (their ids and state; never the keys themselves).",
      footer = {"", "Examples:", "  funnel admin key list", "  funnel admin key list --json"})
  static final class ListAll extends AdminAction {
    @Option(names = "--json", description = "Print the API's JSON.")
    boolean json;

    @Override
    void run(ApiClient client, PrintWriter out) {
      JsonObject answer = client.get("/v1/keys");
      if (json) {
        out.println(answer.encodePrettily());
        return;
      }
      JsonArray keys = answer.getJsonArray("keys", new JsonArray());
      if (keys.isEmpty()) {
        out.println("no auth keys (make one: funnel admin key add --tailnet NAME)");
        return;
      }
      AdminTable table = new AdminTable("ID", "TAILNET", "REUSABLE", "STATE", "EXPIRES", "CREATED");
      Instant now = Instant.now();
      for (int i = 0; i < keys.size(); i++) {
        JsonObject k = keys.getJsonObject(i);
        table.row(k.getString("id"), k.getString("tailnet"), k.getBoolean("reusable", false) ? "yes" : "no",
            state(k, now), AdminTable.time(k.getString("expiresAt"), "never"),
            AdminTable.time(k.getString("createdAt"), "-"));
      }
      table.print(out);
    }
  }

  @Command(name = "rm", mixinStandardHelpOptions = true,
      description = "Revoke an auth key; nodes enrolled with it are disconnected and cannot log in again.",
      footer = {"", "Example:", "  funnel admin key rm k3x9q2m7a1b0c"})
  static final class Remove extends AdminAction {
    @Parameters(paramLabel = "ID", description = "The key's id, from `funnel admin key list`.")
    String id;

    @Override
    void run(ApiClient client, PrintWriter out) {
      client.delete("/v1/keys/" + ApiClient.segment(id));
      out.println("revoked auth key " + id);
    }
  }

  /** revoked, used (a one-off key that enrolled its node), expired, or usable. */
  static String state(JsonObject key, Instant now) {
    if (key.getString("revokedAt") != null) {
      return "revoked";
    }
    if (!key.getBoolean("reusable", false) && key.getString("usedAt") != null) {
      return "used";
    }
    String expiresAt = key.getString("expiresAt");
    try {
      if (expiresAt != null && !Instant.parse(expiresAt).isAfter(now)) {
        return "expired";
      }
    } catch (DateTimeParseException e) {
      return "?";
    }
    return "usable";
  }

  private static final Pattern DURATION = Pattern.compile("([1-9][0-9]{0,8})([smhd])");

  /** {@code 90s}, {@code 30m}, {@code 24h}, {@code 7d}; IllegalArgumentException otherwise. */
  static Duration parseExpiry(String value) {
    Matcher m = DURATION.matcher(value.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("expected a duration like 90s, 30m, 24h or 7d, got '" + value + "'");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }

  static final class ExpiryConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return parseExpiry(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
