package dev.funnel.launcher;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * One leaf command of {@code funnel admin}: checks its arguments, connects, runs, and turns any
 * {@link ApiClient.ApiFailure} into {@code funnel admin: <message>} on stderr with exit code 1.
 * A usage problem found in {@link #check()} is a picocli ParameterException (exit code 2).
 */
abstract class AdminAction implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  /** Argument checks picocli cannot express; throw {@code new ParameterException(spec.commandLine(), why)}. */
  void check() {
  }

  /** Makes the call(s) and prints the result to {@code out}. */
  abstract void run(ApiClient client, PrintWriter out);

  @Override
  public final Integer call() {
    check();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      run(admin().connect(), out);
      return 0;
    } catch (ApiClient.ApiFailure e) {
      err.println("funnel admin: " + e.getMessage());
      return 1;
    } finally {
      out.flush();
      err.flush();
    }
  }

  /** The {@code admin} command above this one, which holds where to connect. */
  private AdminCommand admin() {
    for (CommandSpec s = spec; s != null; s = s.parent()) {
      if (s.userObject() instanceof AdminCommand admin) {
        return admin;
      }
    }
    throw new IllegalStateException(spec.qualifiedName() + " is not under `admin`");
  }
}
