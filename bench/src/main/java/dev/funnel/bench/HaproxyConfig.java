package dev.funnel.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The HAProxy configurations the bench runs (text only; {@link Ingress} writes and starts them).
 *
 * <ul>
 *   <li>{@link #sniRouter}: the {@code haproxy} path, one process routing on the ClientHello's SNI
 *       straight to the backend.
 *   <li>{@link #tunnelEdge} + {@link #tunnelEnd}: the {@code haproxy-tunnel} path, Funnel's job done with
 *       HAProxy at both ends, as an operator might: the edge routes on SNI without terminating the
 *       client's TLS and sends the raw stream over a TLS leg it verifies against a private CA; the
 *       tunnel end terminates that leg only and forwards the (still client-TLS) stream to the backend.
 *       Two TLS legs and two hops, as through Funnel's frontend/gateway and node.
 * </ul>
 *
 * Every process: {@code mode tcp}, no splice (HAProxy's default), {@code nbthread} threads, listeners and
 * servers on 127.0.0.1 only.
 */
final class HaproxyConfig {

  /** The name on the tunnel end's certificate; the edge checks it ({@code verifyhost}). */
  static final String TUNNEL_END_NAME = "tunnel-end.bench.localhost";

  private HaproxyConfig() {
  }

  /** One process: SNI routing in TCP mode straight to the backend ({@code haproxy}). */
  static String sniRouter(int port, String serverName, int backendPort, long maxconn, int threads) {
    List<String> lines = head(maxconn, threads);
    lines.addAll(sniFrontend(port, serverName));
    lines.addAll(List.of(
        "backend node",
        "  server backend 127.0.0.1:" + backendPort));
    return text(lines);
  }

  /**
   * The edge of {@code haproxy-tunnel}: SNI routing in TCP mode (the client's TLS is not terminated) to a
   * server reached over TLS, verified against {@code caFile} and the name {@link #TUNNEL_END_NAME}.
   * HAProxy's server-side TLS session reuse is left on (its default: no {@code no-ssl-reuse}), so after
   * the first leg most legs are resumed handshakes.
   */
  static String tunnelEdge(int port, String serverName, int tunnelEndPort, Path caFile, long maxconn, int threads) {
    List<String> lines = head(maxconn, threads);
    lines.addAll(sniFrontend(port, serverName));
    lines.addAll(List.of(
        "backend node",
        "  server tunnel-end 127.0.0.1:" + tunnelEndPort + " ssl verify required ca-file " + caFile
            + " verifyhost " + TUNNEL_END_NAME));
    return text(lines);
  }

  /**
   * The tunnel end of {@code haproxy-tunnel}: terminates the TLS leg from the edge ({@code pemFile}:
   * certificate chain and key) and forwards the stream inside it, the client's own TLS, to the backend
   * in TCP mode.
   */
  static String tunnelEnd(int port, Path pemFile, int backendPort, long maxconn, int threads) {
    List<String> lines = head(maxconn, threads);
    lines.addAll(List.of(
        "frontend tunnel",
        "  bind 127.0.0.1:" + port + " ssl crt " + pemFile,
        "  default_backend app",
        "backend app",
        "  server backend 127.0.0.1:" + backendPort));
    return text(lines);
  }

  private static List<String> head(long maxconn, int threads) {
    return new ArrayList<>(List.of(
        "global",
        "  nbthread " + threads,
        "  maxconn " + maxconn,
        "defaults",
        "  mode tcp",
        "  timeout connect 5s",
        "  timeout client 10m",
        "  timeout server 10m",
        "  maxconn " + maxconn));
  }

  private static List<String> sniFrontend(int port, String serverName) {
    return List.of(
        "frontend public",
        "  bind 127.0.0.1:" + port,
        "  tcp-request inspect-delay 5s",
        "  tcp-request content accept if { req.ssl_hello_type 1 }",
        "  use_backend node if { req.ssl_sni -i " + serverName + " }");
  }

  private static String text(List<String> lines) {
    return String.join("\n", lines) + "\n";
  }
}
