package dev.funnel.node.acme;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What the node's ACME client needs, snapshotted once from the command line.
 *
 * @param directory   the CA's directory URL (Let's Encrypt's {@link #LETS_ENCRYPT} by default)
 * @param caFile      PEM bundle the CA's HTTPS certificate is checked against, or null for the JDK's
 *                    trust store (a private ACME CA, Pebble in tests)
 * @param email       account contact, or null
 * @param eabKid      External Account Binding key id, or null (both EAB fields or neither)
 * @param eabHmacKey  EAB MAC key, base64url, or null
 * @param challenges  challenge types in the order they are tried ({@code tls-alpn-01}, {@code dns-01})
 * @param stateDir    where the account key, the domain key and the certificate are kept (mode 0600)
 * @param timeout     bound on one order as a whole (each challenge, finalisation, download)
 */
public record AcmeSettings(URI directory, Path caFile, String email, String eabKid, String eabHmacKey,
                           List<String> challenges, Path stateDir, Duration timeout) {

  public static final URI LETS_ENCRYPT = URI.create("https://acme-v02.api.letsencrypt.org/directory");
  public static final String TLS_ALPN_01 = "tls-alpn-01";
  public static final String DNS_01 = "dns-01";
  public static final List<String> DEFAULT_CHALLENGES = List.of(TLS_ALPN_01, DNS_01);
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(2);

  public AcmeSettings {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(stateDir, "stateDir");
    challenges = List.copyOf(challenges);
    if (challenges.isEmpty()) {
      throw new IllegalArgumentException("no ACME challenge type to try");
    }
    for (String type : challenges) {
      if (!type.equals(TLS_ALPN_01) && !type.equals(DNS_01)) {
        throw new IllegalArgumentException("unknown ACME challenge type " + type + " (use " + TLS_ALPN_01 + " or "
            + DNS_01 + ")");
      }
    }
    if ((eabKid == null) != (eabHmacKey == null)) {
      throw new IllegalArgumentException("--acme-eab-kid and --acme-eab-hmac-key go together");
    }
    if (timeout == null) {
      timeout = DEFAULT_TIMEOUT;
    }
  }
}
