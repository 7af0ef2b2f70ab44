package dev.funnel.bench;

import dev.funnel.common.tls.DevCa;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One path under test: where the client enters (always 127.0.0.1), the SNI name it routes on, the
 * CA the client verifies the far end with, and the processes of the path (their CPU and memory are
 * what the path costs). Closing it stops those processes.
 */
interface Ingress extends AutoCloseable {

  String name();

  int port();

  String serverName();

  /** PEM file of the CA(s) the client trusts for this path. */
  Path trust();

  /** The path's own processes, by label (empty for the direct path); nginx's workers are found at read time. */
  Map<String, Long> processes();

  /** True for Funnel's JVMs (their heap is collected before memory is read). */
  boolean isJvm();

  /** True when the path's JVMs run with a fixed, pre-touched heap (-Xms = -Xmx, -XX:+AlwaysPreTouch). */
  default boolean heapPinned() {
    return false;
  }

  /**
   * {@link System#nanoTime()} when the path's last process was started fresh (a Funnel path: its node),
   * for the new-tunnel rate soon after a start; 0 when the figure does not apply.
   */
  default long freshSinceNanos() {
    return 0;
  }

  /** Tunnels the path lets one node carry at once (idle tunnels are opened up to this). */
  default int maxTunnels() {
    return Integer.MAX_VALUE;
  }

  /** A note for the report (configuration worth knowing), or null. */
  default String note() {
    return null;
  }

  @Override
  void close();

  /** Every pid of the path, descendants included. */
  default List<Long> pids() {
    List<Long> all = new ArrayList<>();
    for (long pid : processes().values()) {
      all.addAll(Proc.withDescendants(pid));
    }
    return all;
  }

  /** Resident memory in KiB per labelled process (with its descendants). */
  default Map<String, Long> rssKib() {
    Map<String, Long> rss = new LinkedHashMap<>();
    processes().forEach((label, pid) -> {
      long sum = 0;
      for (long p : Proc.withDescendants(pid)) {
        sum += Proc.rssKib(p);
      }
      rss.put(label, sum);
    });
    return rss;
  }

  /** The client talks straight to the backend. */
  static Ingress direct(int backendPort, String serverName, Path trust) {
    return new Simple("direct", backendPort, serverName, trust, Map.of(), List.of(), false, null);
  }

  /** HAProxy 2.6, {@code mode tcp}, routing on {@code req.ssl_sni}, two threads (one per core). */
  static Ingress haproxy(Path dir, Path logs, int backendPort, String serverName, Path trust) throws Exception {
    int port = Child.freePort();
    String config = HaproxyConfig.sniRouter(port, serverName, backendPort, maxConnections(), 2);
    Path file = Files.writeString(dir.resolve("haproxy.cfg"), config);
    Child haproxy = Child.start("haproxy", logs, Map.of(), List.of("haproxy", "-db", "-f", file.toString()), null, 0);
    Child.awaitListening(port, 10_000);
    return new Simple("haproxy", port, serverName, trust, Map.of("haproxy", haproxy.pid()), List.of(haproxy), false,
        "haproxy " + version("haproxy", "-v") + ": mode tcp, req.ssl_sni, nbthread 2, no splice");
  }

  /**
   * Funnel's job done with HAProxy at both ends ({@link HaproxyConfig#tunnelEdge}, {@link
   * HaproxyConfig#tunnelEnd}): an edge process routing on {@code req.ssl_sni} without terminating the
   * client's TLS, a TLS leg (verified against a throw-away CA, server-side session reuse on, HAProxy's
   * default) to a second process, the tunnel end, which forwards the client's TLS stream to the backend.
   * Two threads each.
   */
  static Ingress haproxyTunnel(Path dir, Path logs, int backendPort, String serverName, Path trust)
      throws Exception {
    Path home = Files.createDirectories(dir.resolve("haproxy-tunnel"));
    // The leg's own CA and the tunnel end's certificate (chain and key in one PEM, as `crt` takes it).
    DevCa legCa = DevCa.loadOrCreate(home.resolve("leg-ca"));
    DevCa.KeyAndChain leaf = legCa.issue(List.of(HaproxyConfig.TUNNEL_END_NAME), Duration.ofDays(2));
    Path pem = Files.writeString(home.resolve("tunnel-end.pem"), leaf.chainPem() + leaf.keyPem());
    long maxconn = maxConnections();
    int endPort = Child.freePort();
    Path endFile = Files.writeString(home.resolve("tunnel-end.cfg"),
        HaproxyConfig.tunnelEnd(endPort, pem, backendPort, maxconn, 2));
    int edgePort = Child.freePort();
    Path edgeFile = Files.writeString(home.resolve("edge.cfg"),
        HaproxyConfig.tunnelEdge(edgePort, serverName, endPort, legCa.caPemPath(), maxconn, 2));
    List<Child> started = new ArrayList<>();
    try {
      Child end = Child.start("haproxy-tunnel-end", logs, Map.of(), List.of("haproxy", "-db", "-f", endFile.toString()),
          null, 0);
      started.add(end);
      Child.awaitListening(endPort, 10_000);
      Child edge = Child.start("haproxy-tunnel-edge", logs, Map.of(),
          List.of("haproxy", "-db", "-f", edgeFile.toString()), null, 0);
      started.add(edge);
      Child.awaitListening(edgePort, 10_000);
      Map<String, Long> processes = new LinkedHashMap<>();
      processes.put("haproxy edge", edge.pid());
      processes.put("haproxy tunnel end", end.pid());
      // Stopped edge first, then the tunnel end (Simple closes in reverse order).
      return new Simple("haproxy-tunnel", edgePort, serverName, trust, processes, List.of(end, edge), false,
          "haproxy " + version("haproxy", "-v") + " x 2: edge (mode tcp, req.ssl_sni) -> TLS leg (verify required,"
              + " private CA, server-side session reuse on) -> tunnel end (bind ssl crt, mode tcp) -> backend;"
              + " nbthread 2 each, no splice");
    } catch (Exception e) {
      for (int i = started.size() - 1; i >= 0; i--) {
        started.get(i).close();
      }
      throw e;
    }
  }

  /**
   * Why a path cannot run on this machine (a tool it needs is not on PATH), or null. bench/run installs
   * haproxy and nginx with apt; a runner started by hand may lack them.
   */
  static String unavailableReason(String path) {
    String tool = switch (path) {
      case "haproxy", "haproxy-tunnel" -> "haproxy";
      case "nginx" -> "nginx";
      default -> null;
    };
    if (tool == null || onPath(tool)) {
      return null;
    }
    return tool + " is not installed (not on PATH); ./bench/run installs it with apt";
  }

  private static boolean onPath(String tool) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
  }

  /** nginx 1.22 {@code stream} with {@code ssl_preread}, two worker processes. */
  static Ingress nginxStream(Path dir, Path logs, int backendPort, String serverName, Path trust) throws Exception {
    int port = Child.freePort();
    String body = String.join("\n",
        "stream {",
        "  map $ssl_preread_server_name $node {",
        "    " + serverName + " 127.0.0.1:" + backendPort + ";",
        "    default 127.0.0.1:1;",
        "  }",
        "  server {",
        "    listen 127.0.0.1:" + port + " backlog=8192;",
        "    ssl_preread on;",
        "    proxy_pass $node;",
        "    proxy_timeout 10m;",
        "  }",
        "}");
    Child nginx = nginx("nginx", dir.resolve("nginx-stream"), logs, body, true);
    Child.awaitListening(port, 10_000);
    return new Simple("nginx", port, serverName, trust, Map.of("nginx", nginx.pid()), List.of(nginx), false,
        "nginx " + version("nginx", "-v") + ": stream, ssl_preread, 2 workers");
  }

  /**
   * nginx terminating TLS (HTTP/1.1, and HTTP/2 for a client that offers it by ALPN) and proxying
   * HTTP/1.1 (upstream keep-alive) to the HTTP backend. Request bodies stream to the backend as
   * they arrive ({@code proxy_request_buffering off}), as Funnel's terminator streams them: nginx's
   * default would first write a whole upload to a temporary file. The load client offers no ALPN,
   * so the keep-alive run is HTTP/1.1 on both paths.
   */
  static Ingress nginxHttps(Path dir, Path logs, int httpPort, String serverName, Path chain, Path key, Path trust)
      throws Exception {
    int port = Child.freePort();
    Path home = dir.resolve("nginx-https");
    String body = String.join("\n",
        "http {",
        "  access_log off;",
        "  keepalive_requests 1000000;",
        "  client_body_temp_path " + home.resolve("tmp") + ";",
        "  proxy_temp_path " + home.resolve("tmp") + ";",
        "  client_max_body_size 0;",
        "  upstream app { server 127.0.0.1:" + httpPort + "; keepalive 64; }",
        "  server {",
        "    listen 127.0.0.1:" + port + " ssl http2 backlog=8192;",
        "    server_name " + serverName + ";",
        "    ssl_certificate " + chain + ";",
        "    ssl_certificate_key " + key + ";",
        "    ssl_protocols TLSv1.2 TLSv1.3;",
        "    location / {",
        "      proxy_pass http://app;",
        "      proxy_http_version 1.1;",
        "      proxy_request_buffering off;",
        "      proxy_set_header Connection \"\";",
        "      proxy_set_header Host $host;",
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "      proxy_set_header X-Forwarded-Proto https;",
        "    }",
        "  }",
        "}");
    Child nginx = nginx("nginx-https", home, logs, body, false);
    Child.awaitListening(port, 10_000);
    return new Simple("nginx-https", port, serverName, trust, Map.of("nginx", nginx.pid()), List.of(nginx), false,
        "nginx " + version("nginx", "-v") + ": TLS termination (HTTP/1.1, HTTP/2 by ALPN), proxy_pass HTTP/1.1 with"
            + " upstream keepalive 64, request bodies streamed");
  }

  /** Connections a one-process proxy can hold: two sockets each within the open-file limit. */
  private static long maxConnections() {
    return (Proc.openFilesLimit() - 200) / 2;
  }

  private static Child nginx(String name, Path home, Path logs, String body, boolean stream) throws Exception {
    Files.createDirectories(home.resolve("tmp"));
    String config = String.join("\n",
        stream ? "load_module /usr/lib/nginx/modules/ngx_stream_module.so;" : "",
        "user root;",
        "daemon off;",
        "worker_processes 2;",
        "worker_rlimit_nofile " + Proc.openFilesLimit() + ";",
        "pid " + home.resolve("nginx.pid") + ";",
        "error_log " + home.resolve("error.log") + " warn;",
        "events { worker_connections " + (Proc.openFilesLimit() - 100) + "; }",
        body,
        "");
    Path file = Files.writeString(home.resolve("nginx.conf"), config);
    return Child.start(name, logs, Map.of(),
        List.of("nginx", "-e", home.resolve("error.log").toString(), "-p", home.toString(), "-c", file.toString()),
        null, 0);
  }

  private static String version(String tool, String flag) {
    try {
      String out = Child.run(List.of(tool, flag), Map.of(), 10_000);
      var m = Pattern.compile("(\\d+\\.\\d+\\.\\d+)").matcher(out);
      return m.find() ? m.group(1) : "?";
    } catch (IOException e) {
      return "?";
    }
  }

  /** A path made of processes that are stopped together. */
  final class Simple implements Ingress {
    private final String name;
    private final int port;
    private final String serverName;
    private final Path trust;
    private final Map<String, Long> processes;
    private final List<? extends AutoCloseable> owned;
    private final boolean jvm;
    private final String note;
    private int maxTunnels = Integer.MAX_VALUE;
    private boolean heapPinned;
    private long freshSince;

    Simple(String name, int port, String serverName, Path trust, Map<String, Long> processes,
           List<? extends AutoCloseable> owned, boolean jvm, String note) {
      this.name = name;
      this.port = port;
      this.serverName = serverName;
      this.trust = trust;
      this.processes = new LinkedHashMap<>(processes);
      this.owned = owned;
      this.jvm = jvm;
      this.note = note;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public int port() {
      return port;
    }

    @Override
    public String serverName() {
      return serverName;
    }

    @Override
    public Path trust() {
      return trust;
    }

    @Override
    public Map<String, Long> processes() {
      return processes;
    }

    @Override
    public boolean isJvm() {
      return jvm;
    }

    @Override
    public String note() {
      return note;
    }

    @Override
    public int maxTunnels() {
      return maxTunnels;
    }

    @Override
    public boolean heapPinned() {
      return heapPinned;
    }

    @Override
    public long freshSinceNanos() {
      return freshSince;
    }

    Simple freshSince(long nanos) {
      this.freshSince = nanos;
      return this;
    }

    Simple heapPinned(boolean pinned) {
      this.heapPinned = pinned;
      return this;
    }

    Simple maxTunnels(int max) {
      this.maxTunnels = max;
      return this;
    }

    @Override
    public void close() {
      for (int i = owned.size() - 1; i >= 0; i--) {
        try {
          owned.get(i).close();
        } catch (Exception e) {
          // keep stopping the rest
        }
      }
    }
  }
}
