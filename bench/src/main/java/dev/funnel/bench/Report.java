package dev.funnel.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns the figures into {@code latest.json} (the shape checks read: {@code machine}, {@code paths},
 * {@code https}, plus {@code ratios}, {@code targets}, {@code plan} and {@code details}) and a
 * Markdown summary.
 */
final class Report {

  static final List<String> PATHS = List.of("direct", "haproxy", "haproxy-tunnel", "nginx", "funnel-1jvm",
      "funnel-cluster");
  /**
   * Figures of every path, compared between paths. A Funnel path also has {@code tunnels_per_s_after_start}
   * and {@code warmup_ratio} (its JVMs' warm-up; the other paths do not JIT).
   */
  static final List<String> FIGURES = List.of("throughput_1stream_mib_s", "throughput_8stream_mib_s", "tunnels_per_s",
      "setup_p50_ms", "setup_p99_ms", "setup_p999_ms", "rss_kib_per_idle_tunnel", "cpu_s_per_gib",
      "cpu_us_per_tunnel");
  /** The figures of the Markdown table against haproxy-tunnel, the peer that also pays a second leg and hop. */
  static final List<String> FAIR_PEER_FIGURES = List.of("tunnels_per_s", "throughput_1stream_mib_s",
      "throughput_8stream_mib_s", "cpu_us_per_tunnel");

  private Report() {
  }

  /** A path that could not be measured: every figure null, and why. */
  static JsonObject notMeasured(String why) {
    JsonObject o = new JsonObject();
    FIGURES.forEach(o::putNull);
    return o.put("note", why);
  }

  static JsonObject ratios(JsonObject paths) {
    JsonObject ratios = new JsonObject();
    for (String path : PATHS) {
      JsonObject p = paths.getJsonObject(path);
      JsonObject vsDirect = new JsonObject();
      JsonObject vsHaproxy = new JsonObject();
      JsonObject vsHaproxyTunnel = new JsonObject();
      for (String figure : FIGURES) {
        vsDirect.put(figure, ratio(p, paths.getJsonObject("direct"), figure));
        vsHaproxy.put(figure, ratio(p, paths.getJsonObject("haproxy"), figure));
        vsHaproxyTunnel.put(figure, ratio(p, paths.getJsonObject("haproxy-tunnel"), figure));
      }
      ratios.put(path, new JsonObject().put("vs_direct", vsDirect).put("vs_haproxy", vsHaproxy)
          .put("vs_haproxy_tunnel", vsHaproxyTunnel));
    }
    return ratios;
  }

  private static Double ratio(JsonObject p, JsonObject base, String figure) {
    if (p == null || base == null) {
      return null;
    }
    return Stats.shownRatio(p.getDouble(figure), base.getDouble(figure));
  }

  /**
   * Issue 15's targets (data plane v2), each with the measured value and whether it was met (null: not
   * measured). Idle RSS of {@code funnel node} and {@code funnel server} is {@code ./bench/footprint}'s.
   */
  static JsonArray targets(JsonObject paths, JsonObject https) {
    JsonArray t = new JsonArray();
    JsonObject one = paths.getJsonObject("funnel-1jvm");
    JsonObject cluster = paths.getJsonObject("funnel-cluster");
    JsonObject haproxy = paths.getJsonObject("haproxy");
    JsonObject tunnel = paths.getJsonObject("haproxy-tunnel");
    JsonObject direct = paths.getJsonObject("direct");
    t.add(target("funnel-1jvm tunnels_per_s >= 0.9 x haproxy", ratio(one, haproxy, "tunnels_per_s"), 0.9, true));
    t.add(target("funnel-cluster tunnels_per_s >= 0.8 x haproxy", ratio(cluster, haproxy, "tunnels_per_s"), 0.8,
        true));
    t.add(target("funnel-1jvm cpu_us_per_tunnel <= 2 x haproxy", ratio(one, haproxy, "cpu_us_per_tunnel"), 2.0,
        false));
    t.add(target("funnel-1jvm RSS per idle tunnel <= 8 KiB", value(one, "rss_kib_per_idle_tunnel"), 8.0, false));
    t.add(target("funnel-cluster RSS per idle tunnel <= 8 KiB", value(cluster, "rss_kib_per_idle_tunnel"), 8.0,
        false));
    t.add(target("funnel-1jvm setup p99 - direct's <= 0.5 ms", added(one, direct), 0.5, false));
    t.add(target("funnel-cluster setup p99 - direct's <= 1 ms", added(cluster, direct), 1.0, false));
    for (String figure : List.of("throughput_1stream_mib_s", "throughput_8stream_mib_s")) {
      t.add(target("funnel-1jvm " + figure + " >= 0.7 x haproxy", ratio(one, haproxy, figure), 0.7, true));
    }
    for (String figure : List.of("throughput_1stream_mib_s", "throughput_8stream_mib_s")) {
      t.add(target("funnel-1jvm " + figure + " >= 1.25 x haproxy-tunnel", ratio(one, tunnel, figure), 1.25, true));
    }
    t.add(target("funnel-1jvm cpu_us_per_tunnel <= 0.35 x haproxy-tunnel", ratio(one, tunnel, "cpu_us_per_tunnel"),
        0.35, false));
    t.add(target("funnel terminator HTTPS rps >= 0.6 x nginx",
        Stats.shownRatio(https.getDouble("funnel_terminator_rps"), https.getDouble("nginx_rps")), 0.6, true));
    t.add(target("funnel terminator 200 MB upload, HTTP/2 time / HTTP/1.1 time <= 1.25",
        https.getDouble("funnel_terminator_upload_http2_over_http1"), 1.25, false));
    t.add(target("funnel-1jvm new tunnels/s 10 s after start / warm >= 0.8", value(one, "warmup_ratio"), 0.8, true));
    return t;
  }

  private static Double added(JsonObject p, JsonObject direct) {
    Double v = value(p, "setup_p99_ms");
    Double d = value(direct, "setup_p99_ms");
    return v == null || d == null ? null : Stats.round(v - d, 3);
  }

  private static Double value(JsonObject p, String figure) {
    return p == null ? null : p.getDouble(figure);
  }

  private static JsonObject target(String what, Double value, double bound, boolean atLeast) {
    Boolean met = value == null ? null : (atLeast ? value >= bound : value <= bound);
    return new JsonObject().put("target", what).put("value", value).put("met", met);
  }

  /** NaN and infinities become null: JSON has no NaN. */
  static Object clean(Object value) {
    if (value instanceof Double d && (d.isNaN() || d.isInfinite())) {
      return null;
    }
    if (value instanceof JsonObject o) {
      JsonObject c = new JsonObject();
      o.forEach(e -> c.put(e.getKey(), clean(e.getValue())));
      return c;
    }
    if (value instanceof JsonArray a) {
      JsonArray c = new JsonArray();
      a.forEach(v -> c.add(clean(v)));
      return c;
    }
    return value;
  }

  static String markdown(JsonObject report, String command) {
    JsonObject paths = report.getJsonObject("paths");
    JsonObject ratios = report.getJsonObject("ratios");
    JsonObject machine = report.getJsonObject("machine");
    StringBuilder md = new StringBuilder();
    md.append("Command: `").append(command).append("` — ").append(machine.getString("started_at"))
        .append(", ").append(machine.getInteger("cores")).append(" cores (").append(machine.getString("cpu_model"))
        .append("), ").append(machine.getString("jvm")).append(report.getJsonObject("plan").getBoolean("quick")
            ? ", **quick run (smaller sizes)**" : "").append(".\n\n");
    md.append("| path | 1 stream MiB/s | 8 streams MiB/s | new tunnels/s | setup p50 ms | p99 ms | p99.9 ms"
        + " | KiB RSS per idle tunnel | CPU s per GiB | CPU µs per tunnel |\n");
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (String path : PATHS) {
      JsonObject p = paths.getJsonObject(path);
      md.append("| ").append(path);
      if (p.getString("note") != null && p.getDouble("throughput_1stream_mib_s") == null) {
        md.append(" | not measured: ").append(p.getString("note").replace("|", "/")).append(" |||||||||\n");
        continue;
      }
      JsonObject vsHaproxy = ratios.getJsonObject(path).getJsonObject("vs_haproxy");
      for (String figure : FIGURES) {
        Double v = p.getDouble(figure);
        md.append(" | ").append(v == null ? "–" : format(v));
        Double r = vsHaproxy.getDouble(figure);
        if (v != null && r != null && !path.equals("haproxy") && !path.equals("direct")) {
          md.append(" (").append(format(r)).append("×)");
        }
      }
      md.append(" |\n");
    }
    md.append("\n(×: ratio to haproxy in the same run. Setup = ClientHello sent → first byte back, seen by the"
        + " client. CPU s per GiB = the path's processes plus the backend during the bulk runs; the"
        + " load generator's own share is in `details`. CPU µs per tunnel = the path's own processes only"
        + " during the new-tunnels runs ÷ tunnels opened.)\n\n");
    fairPeer(md, paths, ratios);
    JsonObject https = report.getJsonObject("https");
    md.append("| HTTPS | requests/s (keep-alive, ").append(report.getJsonObject("plan").getInteger("https_connections"))
        .append(" connections) | 200 MB upload with curl, HTTP/2 time ÷ HTTP/1.1 time |\n")
        .append("|---|---:|---:|\n")
        .append("| nginx TLS → HTTP backend | ").append(orDash(https.getDouble("nginx_rps"))).append(" | ")
        .append(orDash(https.getDouble("nginx_upload_http2_over_http1"))).append(" |\n")
        .append("| funnel frontend → gateway → node terminator → HTTP backend | ")
        .append(orDash(https.getDouble("funnel_terminator_rps"))).append(" | ")
        .append(orDash(https.getDouble("funnel_terminator_upload_http2_over_http1"))).append(" |\n\n");
    md.append("| target | value | met |\n|---|---:|---|\n");
    for (Object o : report.getJsonArray("targets")) {
      JsonObject t = (JsonObject) o;
      Boolean met = t.getBoolean("met");
      md.append("| ").append(t.getString("target")).append(" | ").append(orDash(t.getDouble("value")))
          .append(" | ").append(met == null ? "not measured" : met ? "yes" : "**no**").append(" |\n");
    }
    return md.toString();
  }

  /**
   * Ratios to haproxy-tunnel, the peer that does Funnel's job (a second TLS leg and a second hop), for
   * the paths that do the same job. Left out when haproxy-tunnel was not measured.
   */
  private static void fairPeer(StringBuilder md, JsonObject paths, JsonObject ratios) {
    JsonObject peer = paths.getJsonObject("haproxy-tunnel");
    if (peer == null || peer.getDouble("tunnels_per_s") == null) {
      return;
    }
    md.append("| vs haproxy-tunnel (same run) | new tunnels/s | 1 stream | 8 streams | CPU µs per tunnel |\n")
        .append("|---|---:|---:|---:|---:|\n");
    for (String path : PATHS) {
      if (path.equals("haproxy-tunnel") || path.equals("direct")) {
        continue;
      }
      JsonObject p = paths.getJsonObject(path);
      if (p == null || p.getDouble("tunnels_per_s") == null) {
        continue;
      }
      JsonObject r = ratios.getJsonObject(path).getJsonObject("vs_haproxy_tunnel");
      md.append("| ").append(path);
      for (String figure : FAIR_PEER_FIGURES) {
        Double v = r.getDouble(figure);
        md.append(" | ").append(v == null ? "–" : format(v) + "×");
      }
      md.append(" |\n");
    }
    md.append("\n(haproxy-tunnel: an HAProxy edge routing on SNI → TLS leg → a second HAProxy → backend; like"
        + " Funnel it pays a second TLS leg and a second hop. CPU per tunnel: lower is better.)\n\n");
  }

  private static String orDash(Double v) {
    return v == null ? "–" : format(v);
  }

  static String format(double v) {
    double a = Math.abs(v);
    if (a >= 100) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    if (a >= 1) {
      return String.format(Locale.ROOT, "%.2f", v);
    }
    return String.format(Locale.ROOT, "%.3f", v);
  }

  static JsonObject machine(Map<String, Object> facts) {
    return new JsonObject(new java.util.LinkedHashMap<>(facts));
  }

  static final String README_BEGIN = "<!-- bench:begin (written by ./bench/run) -->";
  static final String README_END = "<!-- bench:end -->";

  /**
   * Puts {@code md} between the README's bench markers, so its "Performance" section always shows
   * the latest complete run (a quick run or a subset of paths leaves it alone).
   */
  static void intoReadme(java.nio.file.Path readme, String md) throws java.io.IOException {
    if (!java.nio.file.Files.exists(readme)) {
      return;
    }
    String text = java.nio.file.Files.readString(readme);
    int begin = text.indexOf(README_BEGIN);
    int end = text.indexOf(README_END);
    if (begin < 0 || end < begin) {
      System.err.println("bench: README.md has no bench markers; its Performance section was not updated");
      return;
    }
    String updated = text.substring(0, begin + README_BEGIN.length()) + "\n" + md.strip() + "\n"
        + text.substring(end);
    java.nio.file.Files.writeString(readme, updated);
  }
}
