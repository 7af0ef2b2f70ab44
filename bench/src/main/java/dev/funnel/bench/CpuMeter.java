package dev.funnel.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CPU seconds of the path's processes, the backend and this client between start and stop; for
 * the path also the part of it spent in the kernel ({@code path_kernel}).
 */
final class CpuMeter {
  private final Ingress path;
  private final long backendPid;
  private final Map<String, Double> startByProcess = new LinkedHashMap<>();
  private final Map<String, Double> startKernelByProcess = new LinkedHashMap<>();
  private final Map<String, Double> byProcess = new LinkedHashMap<>();
  private double startBackend;
  private double startClient;
  private long startWall;

  private CpuMeter(Ingress path, long backendPid) {
    this.path = path;
    this.backendPid = backendPid;
  }

  static CpuMeter start(Ingress path, long backendPid) {
    CpuMeter m = new CpuMeter(path, backendPid);
    path.processes().forEach((label, pid) -> {
      List<Long> pids = Proc.withDescendants(pid);
      m.startByProcess.put(label, Proc.cpuSeconds(pids));
      m.startKernelByProcess.put(label, Proc.systemCpuSeconds(pids));
    });
    m.startBackend = Proc.cpuSeconds(backendPid);
    m.startClient = Proc.cpuSeconds(ProcessHandle.current().pid());
    m.startWall = System.nanoTime();
    return m;
  }

  Map<String, Double> stop() {
    double wall = (System.nanoTime() - startWall) / 1e9;
    double pathCpu = 0;
    double pathKernel = 0;
    for (Map.Entry<String, Long> e : path.processes().entrySet()) {
      List<Long> pids = Proc.withDescendants(e.getValue());
      double used = Proc.cpuSeconds(pids) - startByProcess.get(e.getKey());
      byProcess.put(e.getKey(), used);
      pathCpu += used;
      pathKernel += Proc.systemCpuSeconds(pids) - startKernelByProcess.get(e.getKey());
    }
    Map<String, Double> result = new LinkedHashMap<>();
    result.put("path", pathCpu);
    result.put("path_kernel", pathKernel);
    result.put("backend", Proc.cpuSeconds(backendPid) - startBackend);
    result.put("client", Proc.cpuSeconds(ProcessHandle.current().pid()) - startClient);
    result.put("wall", wall);
    return result;
  }

  Map<String, Double> byProcess() {
    return byProcess;
  }
}
