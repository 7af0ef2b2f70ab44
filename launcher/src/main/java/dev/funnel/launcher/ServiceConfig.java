package dev.funnel.launcher;

import dev.funnel.common.net.HostPort;
import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The settings of a clustered service ({@code funnel frontend|registry|gateway}), each known by
 * its flag's name without the dashes ({@code cluster-host}, {@code admin-listen}, …), merged by
 * vertx-config from three places, later ones winning:
 * <ol>
 *   <li>the {@code --config FILE} (YAML, or JSON when the name ends in {@code .json}), flat keys;</li>
 *   <li>the environment: {@code FUNNEL_} and the name in upper case with underscores
 *       ({@code FUNNEL_CLUSTER_HOST}, {@code FUNNEL_STORE});</li>
 *   <li>the flags given on the command line.</li>
 * </ol>
 * A file may hold the settings of every service (one file per VM); a key no service knows is an
 * error, so a typo does not silently fall back to a default.
 */
final class ServiceConfig {

  /** Every setting any clustered service reads. */
  static final Set<String> KNOWN = Set.of(
      "config", "debug", "log-format", "cluster", "cluster-host", "cluster-port", "cluster-members", "cluster-name", "bus-port", "state",
      "metrics-listen", "event-loops", "domain", "admin-listen", "store", "lease-ms", AliasFlags.RESOLVER, AliasFlags.INTERVAL, "gateway-listen", "gateway-id", "cert", "key",
      "link-listen", "link-advertise", "link-ca", "link-cert", "link-key", "public", "frontend-id", "no-access-log", "clienthello-timeout-ms",
      FrontendLimitFlags.MAX_CONNECTIONS, FrontendLimitFlags.MAX_CONNECTIONS_PER_SOURCE, FrontendLimitFlags.SOURCE_RATE,
      FrontendLimitFlags.SOURCE_BURST, FrontendLimitFlags.IDLE_TIMEOUT, FrontendLimitFlags.TAILNET_BANDWIDTH, FrontendLimitFlags.DRAIN_TIMEOUT,
      GatewayLimitFlags.MAX_TUNNELS_PER_NODE, DnsFlags.LISTEN, DnsFlags.FRONTENDS, DnsFlags.NAMESERVERS,
      DnsFlags.HOSTMASTER, DnsFlags.GATEWAY_REGIONS, DnsFlags.CAA, DnsFlags.TTL, DnsFlags.MAX_UDP, DnsFlags.RATE,
      DnsFlags.BURST, DnsFlags.SLIP, DnsFlags.PUSH, DnsFlags.PUSH_ZONE, DnsFlags.PUSH_TSIG,
      ConsoleLoginFlags.ISSUER, ConsoleLoginFlags.CLIENT_ID, ConsoleLoginFlags.SECRET_FILE, ConsoleLoginFlags.ALLOW_EMAIL);

  private static final long LOAD_TIMEOUT_SECONDS = 30;

  private final JsonObject values;

  ServiceConfig(JsonObject values) {
    this.values = values;
  }

  /** Merges the file, the environment and the flags given to {@code spec}'s command. Blocking. */
  static ServiceConfig load(CommandSpec spec) {
    return load(spec, System.getenv());
  }

  /** As {@link #load(CommandSpec)}, with {@code environment} standing in for the process's. */
  static ServiceConfig load(CommandSpec spec, Map<String, String> environment) {
    return load(spec, environment, KNOWN);
  }

  /** The settings of one command ({@code funnel node}): only its own flags' names are known keys. */
  static ServiceConfig loadOwn(CommandSpec spec, Map<String, String> environment) {
    Set<String> own = new LinkedHashSet<>();
    for (OptionSpec option : spec.options()) {
      own.add(option.longestName().replaceFirst("^-+", ""));
    }
    return load(spec, environment, own);
  }

  /**
   * {@code target}, a fresh instance of {@code spec}'s command, given the settings {@link #loadOwn}
   * merges: picocli parses, into it, each setting of the file or the environment as its flag
   * ({@code domain: x} as {@code --domain=x}; a list as the flag repeated; {@code true} for a flag
   * without a value), then the flags given on the command line, which so win. Every value is checked
   * and converted as the flag's; a bad one is a usage error saying where it came from.
   */
  static <T> T parseInto(CommandSpec spec, T target, Map<String, String> environment) {
    ServiceConfig config = loadOwn(spec, environment);
    CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
    List<String> fromConfig = new ArrayList<>();
    List<String> given = new ArrayList<>();
    for (OptionSpec option : spec.options()) {
      if (option.usageHelp() || option.versionHelp()) {
        continue;
      }
      String name = option.longestName();
      String key = name.replaceFirst("^-+", "");
      boolean flagOnly = option.arity().max() == 0;
      if (parsed.hasMatchedOption(option)) {
        if (flagOnly) {
          given.add(name);
        } else {
          option.originalStringValues().forEach(v -> given.add(name + "=" + v));
        }
      } else if (config.has(key)) {
        if (flagOnly) {
          if (config.bool(key)) {
            fromConfig.add(name);
          }
        } else {
          List<String> values = option.isMultiValue() ? config.entries(key, List.of()) : List.of(config.string(key, ""));
          values.forEach(v -> fromConfig.add(name + "=" + v));
        }
      }
    }
    List<String> args = new ArrayList<>(fromConfig);
    args.addAll(given);
    try {
      new CommandLine(target).setCaseInsensitiveEnumValuesAllowed(true).parseArgs(args.toArray(String[]::new));
    } catch (CommandLine.ParameterException e) {
      Object file = spec.findOption("--config") == null ? null : spec.findOption("--config").getValue();
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage() + " (from "
          + (file == null ? "" : file + ", ") + "FUNNEL_* variables or the flags)");
    }
    return target;
  }

  private static ServiceConfig load(CommandSpec spec, Map<String, String> environment, Set<String> known) {
    Set<String> keys = new LinkedHashSet<>();
    JsonObject flags = new JsonObject();
    CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
    for (OptionSpec option : spec.options()) {
      if (option.usageHelp() || option.versionHelp()) {
        continue;
      }
      String key = option.longestName().replaceFirst("^-+", "");
      keys.add(key);
      if (!parsed.hasMatchedOption(option)) {
        continue;
      }
      List<String> given = option.originalStringValues();
      if (given.isEmpty()) {
        flags.put(key, true);
      } else if (option.isMultiValue()) {
        flags.put(key, new JsonArray(new ArrayList<>(given)));
      } else {
        flags.put(key, given.get(given.size() - 1));
      }
    }
    JsonObject env = new JsonObject();
    for (String key : keys) {
      String value = environment.get(envName(key));
      if (value != null) {
        env.put(key, value);
      }
    }
    Object file = flags.containsKey("config") ? flags.getValue("config") : env.getValue("config");
    ConfigRetrieverOptions options = new ConfigRetrieverOptions().setScanPeriod(-1).setIncludeDefaultStores(false);
    if (file != null) {
      Path path = Path.of(file.toString());
      if (!Files.isReadable(path)) {
        throw new IllegalArgumentException("--config: cannot read " + path);
      }
      String format = path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json") ? "json" : "yaml";
      options.addStore(new ConfigStoreOptions().setType("file").setFormat(format)
          .setConfig(new JsonObject().put("path", path.toAbsolutePath().toString())));
    }
    options.addStore(new ConfigStoreOptions().setType("json").setConfig(env));
    options.addStore(new ConfigStoreOptions().setType("json").setConfig(flags));
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    JsonObject merged;
    try {
      ConfigRetriever retriever = ConfigRetriever.create(vertx, options);
      merged = retriever.getConfig().await(LOAD_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      retriever.close();
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot read the configuration" + (file == null ? "" : " in " + file) + ": "
          + Processes.describe(e), e);
    } finally {
      vertx.close();
    }
    for (String key : merged.fieldNames()) {
      if (!known.contains(key)) {
        throw new IllegalArgumentException("unknown setting '" + key + "'" + (file == null ? "" : " in " + file)
            + " (settings are flag names without the dashes, e.g. " + example(spec) + ")");
      }
    }
    return new ServiceConfig(merged);
  }

  /** A setting of {@code spec}'s command to show as an example: {@code cluster-host} for a clustered service, else its first flag that takes a value. */
  static String example(CommandSpec spec) {
    String first = null;
    for (OptionSpec option : spec.options()) {
      String key = option.longestName().replaceFirst("^-+", "");
      if (key.equals("cluster-host")) {
        return key;
      }
      if (first == null && !key.equals("config") && option.arity().max() > 0 && !option.usageHelp()
          && !option.versionHelp()) {
        first = key;
      }
    }
    return first == null ? "state" : first;
  }

  static String envName(String key) {
    return "FUNNEL_" + key.toUpperCase(Locale.ROOT).replace('-', '_');
  }

  boolean has(String key) {
    return values.getValue(key) != null;
  }

  String string(String key, String fallback) {
    Object value = values.getValue(key);
    if (value == null) {
      return fallback;
    }
    if (value instanceof JsonArray array) {
      return array.isEmpty() ? fallback : String.valueOf(array.getValue(array.size() - 1));
    }
    return value.toString();
  }

  boolean bool(String key) {
    Object value = values.getValue(key);
    if (value == null) {
      return false;
    }
    String text = value.toString().trim().toLowerCase(Locale.ROOT);
    return switch (text) {
      case "true", "yes", "on", "1" -> true;
      case "false", "no", "off", "0", "" -> false;
      default -> throw new IllegalArgumentException(key + ": expected true or false, got '" + value + "'");
    };
  }

  long number(String key, long fallback) {
    String text = string(key, null);
    if (text == null) {
      return fallback;
    }
    try {
      return Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": expected a number, got '" + text + "'");
    }
  }

  /** As {@link #number}, clamped to the int range (a limit beyond it means "no limit" anyway). */
  int integer(String key, int fallback) {
    return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, number(key, fallback)));
  }

  double decimal(String key, double fallback) {
    String text = string(key, null);
    if (text == null) {
      return fallback;
    }
    try {
      return Double.parseDouble(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": expected a number, got '" + text + "'");
    }
  }

  HostPort hostPort(String key, HostPort fallback) {
    String text = string(key, null);
    try {
      return text == null ? fallback : HostPort.parse(text.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ": " + e.getMessage());
    }
  }

  Path path(String key, Path fallback) {
    String text = string(key, null);
    return text == null ? fallback : Path.of(text);
  }

  /** A list: a YAML/JSON array, repeated flags, or one comma-separated string. */
  List<String> list(String key, List<String> fallback) {
    Object value = values.getValue(key);
    if (value == null) {
      return fallback;
    }
    List<String> out = new ArrayList<>();
    if (value instanceof JsonArray array) {
      array.forEach(v -> out.addAll(split(String.valueOf(v))));
    } else {
      out.addAll(split(value.toString()));
    }
    return out;
  }

  /** Entries as written, not split at commas (a YAML/JSON array, repeated flags, or one string): for {@code PORT=VALUE} lists. */
  List<String> entries(String key, List<String> fallback) {
    Object value = values.getValue(key);
    if (value == null) {
      return fallback;
    }
    List<String> out = new ArrayList<>();
    if (value instanceof JsonArray array) {
      array.forEach(v -> out.add(String.valueOf(v)));
    } else {
      out.add(value.toString());
    }
    return out;
  }

  private static List<String> split(String csv) {
    List<String> out = new ArrayList<>();
    for (String s : csv.split(",")) {
      if (!s.isBlank()) {
        out.add(s.trim());
      }
    }
    return out;
  }
}
