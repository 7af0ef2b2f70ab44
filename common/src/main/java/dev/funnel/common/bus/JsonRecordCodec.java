package dev.funnel.common.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.json.JsonObject;
import java.util.function.Function;

/**
 * Sends an immutable record as itself on the local bus and as its JSON across the cluster, so the
 * same code runs in one JVM and on many VMs.
 */
final class JsonRecordCodec<T extends BusMessage> implements MessageCodec<T, T> {

  private final Class<T> type;
  private final Function<JsonObject, T> fromJson;

  JsonRecordCodec(Class<T> type, Function<JsonObject, T> fromJson) {
    this.type = type;
    this.fromJson = fromJson;
  }

  @Override
  public void encodeToWire(Buffer buffer, T message) {
    Buffer json = message.toJson().toBuffer();
    buffer.appendInt(json.length()).appendBuffer(json);
  }

  @Override
  public T decodeFromWire(int pos, Buffer buffer) {
    int length = buffer.getInt(pos);
    return fromJson.apply(new JsonObject(buffer.getBuffer(pos + 4, pos + 4 + length)));
  }

  @Override
  public T transform(T message) {
    return message;
  }

  @Override
  public String name() {
    return "funnel." + type.getName();
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
