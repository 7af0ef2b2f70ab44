package dev.funnel.common.net;

import io.netty.channel.IoEvent;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.FileDescriptor;

/**
 * Netty's epoll handler with one fix: a socket registered while a batch of ready events is being
 * dispatched never receives an event of that batch.
 *
 * <p>Why: Netty 4.2's {@code EpollIoHandler} (4.2.12 here, unchanged through 4.2.18) reads a batch
 * with {@code epoll_wait} and dispatches each event by file-descriptor number alone. When handling
 * one event closes another socket on the same loop (a tunnel's other side, say) and a new socket
 * is opened on that loop before the batch ends (the next tunnel's local dial), the kernel gives the
 * new socket the lowest free number, the closed one's, and the closed socket's event still waiting
 * in the batch is delivered to the new socket. A socket still connecting then reads and fails with
 * {@code NotYetConnectedException}; an accepted one can take a stale hang-up as its own.
 * {@code StaleEpollEventTest} reproduces it on the plain handler and shows this one is immune.
 *
 * <p>How: every batch is numbered; a socket registered during batch N ignores the events of batch N
 * (they were read before it existed). Nothing genuine is lost: Netty registers edge-triggered, and
 * a newly added descriptor that is already ready is reported by the next {@code epoll_wait}. One
 * loop's thread only: the fields need no synchronization.
 */
final class StaleEventGuard implements IoHandler {

  private final IoHandler epoll;
  /** The batch being dispatched, or the last one if none is. */
  private long batch;
  private boolean dispatching;

  private StaleEventGuard(IoHandler epoll) {
    this.epoll = epoll;
  }

  static IoHandlerFactory factory() {
    IoHandlerFactory epoll = EpollIoHandler.newFactory();
    return executor -> new StaleEventGuard(epoll.newHandler(executor));
  }

  @Override
  public void initialize() {
    epoll.initialize();
  }

  @Override
  public int run(IoHandlerContext context) {
    batch++;
    dispatching = true;
    try {
      return epoll.run(context);
    } finally {
      dispatching = false;
    }
  }

  @Override
  public void prepareToDestroy() {
    epoll.prepareToDestroy();
  }

  @Override
  public void destroy() {
    epoll.destroy();
  }

  @Override
  public IoRegistration register(IoHandle handle) throws Exception {
    return epoll.register(new Guarded((EpollIoHandle) handle, dispatching ? batch : -1));
  }

  @Override
  public void wakeup() {
    epoll.wakeup();
  }

  @Override
  public boolean isCompatible(Class<? extends IoHandle> handleType) {
    return epoll.isCompatible(handleType);
  }

  /** The channel's handle, deaf to the batch it was registered in. */
  private final class Guarded implements EpollIoHandle {

    private final EpollIoHandle channel;
    private final long bornInBatch;

    Guarded(EpollIoHandle channel, long bornInBatch) {
      this.channel = channel;
      this.bornInBatch = bornInBatch;
    }

    @Override
    public FileDescriptor fd() {
      return channel.fd();
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
      if (dispatching && batch == bornInBatch) {
        return;   // read before this socket existed: an earlier socket's, with the same number
      }
      channel.handle(registration, event);
    }

    @Override
    public void registered() {
      channel.registered();
    }

    @Override
    public void unregistered() {
      channel.unregistered();
    }

    @Override
    public void close() throws Exception {
      channel.close();
    }
  }
}
