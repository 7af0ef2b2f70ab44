package dev.funnel.launcher;

import dev.funnel.registry.AdminFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code funnel admin}: tailnets, auth keys and nodes, through the registry's admin REST API.
 * This class holds where to connect; the subcommands ({@link AdminTailnetCommand},
 * {@link AdminKeyCommand}, {@link AdminNodeCommand}) each make one or two calls through
 * {@link ApiClient} and print the answer.
 *
 * <p>Where to connect, first match wins: {@code --url}/{@code --token}; else, unless {@code --state}
 * was given, {@code $FUNNEL_ADMIN_URL}/{@code $FUNNEL_ADMIN_TOKEN}; else the files
 * {@code admin-url}/{@code admin-token} that {@code funnel server} writes in its state directory.
 * A token is read from the state directory only for that directory's own URL, so a local token is
 * never sent to another server.
 */
@Command(name = "admin", mixinStandardHelpOptions = true, versionProvider = FunnelCommand.Version.class,
    scope = ScopeType.INHERIT, synopsisSubcommandLabel = "COMMAND",
    description = {"Manage who may funnel: tailnets (Funnel on or off, allowed public ports), node auth keys "
        + "and node identities, through the admin API of a running `funnel server` (or `funnel registry`)."},
    subcommands = {AdminTailnetCommand.class, AdminKeyCommand.class, AdminNodeCommand.class, AdminAliasCommand.class,
        AdminStatusCommand.class},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:done", "1:the admin API refused the request, or cannot be reached", "2:usage error"},
    footer = {"",
        "Where to connect, first match wins: --url and --token; else (without --state) $FUNNEL_ADMIN_URL and "
            + "$FUNNEL_ADMIN_TOKEN; else DIR/admin-url and DIR/admin-token, written by `funnel server --state DIR`.",
        "",
        "Examples:",
        "  funnel admin tailnet add demo --funnel on --ports 443,8443",
        "  funnel admin key add --tailnet demo --expiry 24h | tail -1",
        "  funnel admin node list",
        "  funnel admin --url http://10.0.0.5:7080 --token \"$TOKEN\" node list --json"})
public final class AdminCommand {

  /** The state directory when neither --state nor the environment says otherwise. */
  static final Path DEFAULT_STATE = Path.of(".funnel");
  static final String ENV_URL = "FUNNEL_ADMIN_URL";
  static final String ENV_TOKEN = "FUNNEL_ADMIN_TOKEN";

  @Option(names = "--state", paramLabel = "DIR", scope = ScopeType.INHERIT,
      description = "State directory of a local `funnel server`; its admin-url and admin-token are used "
          + "(default: .funnel).")
  Path state;

  @Option(names = "--url", paramLabel = "URL", scope = ScopeType.INHERIT, converter = UrlConverter.class,
      description = "The admin API, e.g. http://127.0.0.1:7080 (default: $FUNNEL_ADMIN_URL, else DIR/admin-url).")
  URI url;

  @Option(names = "--token", paramLabel = "TOKEN", scope = ScopeType.INHERIT,
      description = "Its bearer token (default: $FUNNEL_ADMIN_TOKEN, else DIR/admin-token). "
          + "Others on this machine may see a flag in `ps`; prefer the variable.")
  String token;

  private final Map<String, String> env;

  public AdminCommand() {
    this(System.getenv());
  }

  /** For tests: {@code env} stands in for the process environment. */
  AdminCommand(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  /** A client for the admin API these options point at; an ApiFailure saying what is missing. */
  ApiClient connect() {
    boolean explicitState = state != null;
    Path dir = explicitState ? state : DEFAULT_STATE;
    Path urlFile = dir.resolve(AdminFiles.URL_FILE);
    Path tokenFile = dir.resolve(AdminFiles.TOKEN_FILE);

    URI target = url;
    boolean fromState = false;
    if (target == null && !explicitState && present(env.get(ENV_URL))) {
      target = checked(env.get(ENV_URL), "$" + ENV_URL);
    }
    if (target == null) {
      String saved = read(urlFile);
      if (saved == null) {
        throw new ApiClient.ApiFailure("no admin URL: start `funnel server` or pass --url (no " + urlFile + ")");
      }
      target = checked(saved, urlFile.toString());
      fromState = true;
    }

    String bearer = token;
    if (bearer == null && !explicitState && present(env.get(ENV_TOKEN))) {
      bearer = env.get(ENV_TOKEN).trim();
    }
    if (bearer == null && (fromState || target.toString().equals(read(urlFile)))) {
      bearer = read(tokenFile);
      if (bearer == null) {
        throw new ApiClient.ApiFailure("no admin token: pass --token or set " + ENV_TOKEN + " (no "
            + tokenFile + ")");
      }
    }
    if (bearer == null) {
      throw new ApiClient.ApiFailure("no admin token for " + target + ": pass --token or set " + ENV_TOKEN);
    }
    bearer = bearer.trim();
    if (bearer.isEmpty() || bearer.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
      throw new ApiClient.ApiFailure("the admin token is empty or has characters a token never has");
    }
    return new ApiClient(target, bearer, ApiClient.DEFAULT_TIMEOUT);
  }

  private static boolean present(String s) {
    return s != null && !s.isBlank();
  }

  private static URI checked(String url, String where) {
    try {
      return ApiClient.parseUrl(url);
    } catch (IllegalArgumentException e) {
      throw new ApiClient.ApiFailure(e.getMessage() + " (from " + where + ")");
    }
  }

  /** The file's content without surrounding blanks; null when it does not exist or is empty. */
  private static String read(Path file) {
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8).trim();
      return s.isEmpty() ? null : s;
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new ApiClient.ApiFailure("cannot read " + file + ": " + e);
    }
  }

  /** {@code --url}: an http(s) URL, or a usage error. */
  static final class UrlConverter implements ITypeConverter<URI> {
    @Override
    public URI convert(String value) {
      try {
        return ApiClient.parseUrl(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
