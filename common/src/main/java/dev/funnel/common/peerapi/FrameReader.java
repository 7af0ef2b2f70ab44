package dev.funnel.common.peerapi;

import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Accumulates bytes from a socket and yields whole control messages. Holds at most one frame's
 * worth of bytes (plus one read) because {@link ControlFrames#decode} refuses larger lengths.
 */
public final class FrameReader {

  private final int maxFrameBytes;
  private Buffer pending = Buffer.buffer();

  public FrameReader(int maxFrameBytes) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Adds {@code chunk} and returns every whole message now available. Throws
   * {@link ControlMessage.InvalidMessage} when the stream is malformed; the caller closes it.
   */
  public List<ControlMessage> feed(Buffer chunk) {
    pending.appendBuffer(chunk);
    List<ControlMessage> out = new ArrayList<>(1);
    while (true) {
      ControlFrames.Decoded decoded = ControlFrames.decode(pending, maxFrameBytes);
      if (decoded instanceof ControlFrames.NeedMore) {
        return out;
      }
      if (decoded instanceof ControlFrames.Malformed m) {
        throw new ControlMessage.InvalidMessage(m.reason());
      }
      ControlFrames.Frame frame = (ControlFrames.Frame) decoded;
      out.add(ControlMessage.fromJson(frame.body()));
      pending = pending.getBuffer(frame.consumed(), pending.length());
    }
  }

  /**
   * Adds {@code chunk} and returns the first whole message, or null while it is incomplete. Unlike
   * {@link #feed}, bytes after that message are left alone in {@link #remainder()} even when they
   * are not frames (the start of an ingress offer behind a data connection's Challenge). Throws
   * {@link ControlMessage.InvalidMessage} when the first frame is malformed.
   */
  public ControlMessage next(Buffer chunk) {
    pending.appendBuffer(chunk);
    ControlFrames.Decoded decoded = ControlFrames.decode(pending, maxFrameBytes);
    if (decoded instanceof ControlFrames.NeedMore) {
      return null;
    }
    if (decoded instanceof ControlFrames.Malformed m) {
      throw new ControlMessage.InvalidMessage(m.reason());
    }
    ControlFrames.Frame frame = (ControlFrames.Frame) decoded;
    ControlMessage message = ControlMessage.fromJson(frame.body());
    pending = pending.getBuffer(frame.consumed(), pending.length());
    return message;
  }

  /** Bytes received after the last whole frame (e.g. the start of an offer on a data connection). */
  public Buffer remainder() {
    return pending;
  }
}
