package dev.funnel.bench;

import io.netty.handler.ssl.SslContext;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The {@code https} figures: keep-alive requests per second and 200 MB uploads, nginx beside Funnel's terminator. */
final class HttpsRun {

  private HttpsRun() {
  }

  /**
   * nginx terminating TLS, then a Funnel path whose node terminates it ({@code funnel server} and a
   * node with {@code 443=http://…}), each to the HTTP backend on {@code httpPort}: requests per
   * second, then the uploads ({@link Upload}). Writes {@code figures} and {@code details.https}; a
   * side that fails leaves its figures null and a note.
   */
  static void run(LoadClient client, Suite.Plan plan, Path tmp, Path logs, int httpPort, Path chain, Path key,
                  Path trust, Path funnelJar, List<String> funnelOpts, JsonObject figures, JsonObject details,
                  List<String> engines) {
    JsonObject d = new JsonObject();
    try (Ingress nginx = Ingress.nginxHttps(tmp, logs, httpPort, BenchMain.APP, chain, key, trust)) {
      JsonObject r = http(client, plan, nginx, Net.client(trust.toFile()), plan.httpWarmSeconds(false));
      figures.put("nginx_rps", r.getDouble("rps"));
      d.put("nginx", r);
      // The same uploads through nginx: what the client (curl) and this machine give HTTP/2 against
      // HTTP/1.1 through a terminator that is not Funnel's.
      upload(plan, nginx, trust, tmp, "nginx", figures, d);
    } catch (Exception e) {
      System.err.println("bench: nginx-https failed: " + e);
      d.put("nginx", new JsonObject().put("note", "failed: " + e.getMessage()));
    }
    FunnelRig rig = null;
    try {
      rig = FunnelRig.oneJvm(funnelJar, funnelOpts, tmp.resolve("funnel-https"), logs);
      String name = rig.addNode("app", "http://127.0.0.1:" + httpPort);
      engines.addAll(rig.engineLines());
      try (Ingress funnel = new Ingress.Simple("funnel-terminator", rig.publicPort(), name, rig.caPem(),
          rig.processes(), List.of(), true, null)) {
        JsonObject r = http(client, plan, funnel, Net.client(rig.caPem().toFile()), plan.httpWarmSeconds(true));
        figures.put("funnel_terminator_rps", r.getDouble("rps"));
        d.put("funnel_terminator", r);
        upload(plan, funnel, rig.caPem(), tmp, "funnel_terminator", figures, d);
      }
    } catch (Exception e) {
      System.err.println("bench: funnel-terminator failed: " + e);
      d.put("funnel_terminator", new JsonObject().put("note", "failed: " + e.getMessage()));
    } finally {
      if (rig != null) {
        rig.close();
      }
    }
    details.put("https", d);
  }

  /** The uploads through {@code path}: {@code NAME_upload_http2_over_http1} and {@code details.https.NAME_upload}. */
  private static void upload(Suite.Plan plan, Ingress path, Path caPem, Path tmp, String name, JsonObject figures,
                             JsonObject details) {
    JsonObject up = Upload.measureOrNote(path, caPem, tmp, plan.quick() ? 1 : 3, !plan.quick());
    figures.put(name + "_upload_http2_over_http1", up.getDouble("http2_over_http1"));
    details.put(name + "_upload", up);
  }

  private static JsonObject http(LoadClient client, Suite.Plan plan, Ingress path, SslContext tls, double warmSeconds)
      throws Exception {
    LoadClient.Target target = new LoadClient.Target(path.port(), path.serverName(), tls);
    Suite.log(path, "HTTPS warm-up, " + plan.httpConnections() + " keep-alive connections for "
        + warmSeconds + " s (JIT compilers settle)");
    long warmErrors = client.http(target, plan.httpConnections(), 0, warmSeconds, 120_000).errors();
    JsonArray runs = new JsonArray();
    double best = 0;
    long errors = warmErrors;
    CpuMeter cpu = CpuMeter.start(path, -1);
    for (int rep = 0; rep < plan.reps(); rep++) {
      Suite.log(path, "HTTPS, " + plan.httpConnections() + " keep-alive connections: new connections, 2 s, then "
          + plan.httpSeconds() + " s counted");
      LoadClient.HttpResult r = client.http(target, plan.httpConnections(), 2, plan.httpSeconds(), 120_000);
      runs.add(Stats.round(r.requestsPerSecond(), 4));
      best = Math.max(best, r.requestsPerSecond());
      errors += r.errors();
    }
    Map<String, Double> used = cpu.stop();
    JsonObject byProcess = new JsonObject();
    cpu.byProcess().forEach((label, s) -> byProcess.put(label, Stats.round(s / used.get("wall"), 3)));
    JsonObject result = new JsonObject().put("rps", Stats.round(best, 4)).put("runs", runs).put("errors", errors)
        .put("client_cpu_cores", Stats.round(used.get("client") / used.get("wall"), 3))
        .put("path_cpu_cores_by_process", byProcess);
    if (path.note() != null) {
      result.put("configuration", path.note());
    }
    return result;
  }
}
