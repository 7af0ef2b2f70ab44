package dev.funnel.launcher;

import dev.funnel.common.StateFiles;
import dev.funnel.common.tls.DevCa;
import dev.funnel.node.acme.AcmeFiles;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code funnel cert}: hands the node's current certificate and key to a local server that
 * terminates TLS itself (a {@code tcp://} target), like {@code tailscale cert}. Reads them from the
 * node's state directory (the ACME certificate when the node runs with {@code --acme}, else the
 * server CA's), writes both files mode 0600; with {@code --on-renew} it keeps watching the state
 * directory and, after every renewal, writes them again and runs the command.
 */
@Command(name = "cert", mixinStandardHelpOptions = true,
    description = {"Write this node's current TLS certificate and key for a local TLS server behind tcp://.",
        "Like `tailscale cert`: for a local server that terminates TLS itself. Both files are written mode 0600.",
        "With --on-renew, keeps running: after every renewal it writes them again and runs CMD."},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:written", "1:no certificate in the state directory, or the renewal failed", "2:usage error"},
    footer = {"", "Examples:",
        "  funnel cert --state .funnel-node --cert-file /etc/nginx/node.crt --key-file /etc/nginx/node.key \\",
        "              --on-renew 'systemctl reload nginx'",
        "  funnel cert --state .funnel-node --renew      # the running node orders a new ACME certificate first"})
final class CertCommand implements Callable<Integer> {

  /** How often the state's certificate is checked for a renewal (--on-renew). */
  static final Duration WATCH_PERIOD = Duration.ofSeconds(1);
  /** Bound on the hook command. */
  static final Duration HOOK_TIMEOUT = Duration.ofMinutes(2);

  @Spec
  CommandSpec spec;

  @Option(names = "--state", paramLabel = "DIR", defaultValue = ".funnel-node",
      description = "The node's state directory (its --state; default: ${DEFAULT-VALUE}).")
  Path state;

  @Option(names = "--cert-file", paramLabel = "FILE",
      description = "Where to write the certificate chain, PEM (default: NAME.crt in the current directory).")
  Path certFile;

  @Option(names = "--key-file", paramLabel = "FILE",
      description = "Where to write the private key, PEM (default: NAME.key in the current directory).")
  Path keyFile;

  @Option(names = "--on-renew", paramLabel = "CMD",
      description = "Keep running; after each renewal, write the files again and run CMD (with sh -c).")
  String onRenew;

  @Option(names = "--renew", description = "Ask the running node (funnel node --acme) to order a new certificate first.")
  boolean renew;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (renew) {
      try {
        JsonObject answer = NodeServeCommand.control(state, Duration.ofMinutes(5)).post("/v1/cert/renew",
            new JsonObject());
        out.println("renewed: " + answer.getString("fqdn") + ", valid until " + answer.getString("notAfter"));
      } catch (ApiClient.ApiFailure e) {
        err.println("funnel cert: " + e.getMessage());
        err.flush();
        return 1;
      }
    }
    Source source = source();
    if (source == null) {
      err.println("funnel cert: no certificate in " + state + " (start `funnel node --state " + state
          + " …` first, or pass the --state it runs with)");
      err.flush();
      return 1;
    }
    String name = source.name();
    Path cert = certFile != null ? certFile : Path.of(name + ".crt");
    Path key = keyFile != null ? keyFile : Path.of(name + ".key");
    FileTime written = copy(source, cert, key);
    out.println("wrote " + cert + " and " + key + " for " + name);
    out.flush();
    if (onRenew == null) {
      return 0;
    }
    out.println("funnel cert ready: watching " + source.cert() + " for renewals; runs: " + onRenew);
    out.flush();
    while (true) {
      TimeUnit.MILLISECONDS.sleep(WATCH_PERIOD.toMillis());
      Source now = source();
      if (now == null || !Files.exists(now.cert())) {
        continue;
      }
      FileTime modified = Files.getLastModifiedTime(now.cert());
      if (modified.equals(written)) {
        continue;
      }
      written = copy(now, cert, key);
      int exit = hook(onRenew);
      out.println("renewed: wrote " + cert + " and " + key + "; " + onRenew + " exited " + exit);
      out.flush();
    }
  }

  /** The node's certificate files: the ACME ones when present, else the server CA's; null without either. */
  private Source source() {
    AcmeFiles acme = new AcmeFiles(state);
    if (Files.isReadable(acme.cert()) && Files.isReadable(acme.key())) {
      return new Source(acme.cert(), acme.key());
    }
    Path cert = state.resolve(NodeCertificates.CERT_FILE);
    Path key = state.resolve(NodeCertificates.KEY_FILE);
    return Files.isReadable(cert) && Files.isReadable(key) ? new Source(cert, key) : null;
  }

  /** Copies key, then chain (0600 each); returns the chain's modification time as read before copying. */
  private static FileTime copy(Source source, Path cert, Path key) throws IOException {
    FileTime modified = Files.getLastModifiedTime(source.cert());
    StateFiles.writePrivate(key, Files.readString(source.key(), StandardCharsets.US_ASCII));
    StateFiles.writePrivate(cert, Files.readString(source.cert(), StandardCharsets.US_ASCII));
    return modified;
  }

  private static int hook(String command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder("sh", "-c", command).inheritIO().start();
    if (!process.waitFor(HOOK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      return -1;
    }
    return process.exitValue();
  }

  private record Source(Path cert, Path key) {
    /** The first DNS name of the leaf certificate. */
    String name() {
      try {
        List<X509Certificate> chain = DevCa.Pem.certificates(Files.readString(cert, StandardCharsets.US_ASCII));
        return chain.get(0).getSubjectAlternativeNames().stream()
            .filter(san -> Integer.valueOf(2).equals(san.get(0))).map(san -> String.valueOf(san.get(1)))
            .findFirst().orElse("node");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (Exception e) {
        return "node";
      }
    }
  }
}
