import type { Bus, BusMessage } from './bus';

/** `bus`, counting the messages it sends and hears by type (`tandem_bus_messages_total`). */
export function countMessages(bus: Bus, count: { busMessage(direction: 'sent' | 'received', type: BusMessage['type']): void }): Bus {
  bus.onMessage((message) => count.busMessage('received', message.type));
  return {
    get nodeId() {
      return bus.nodeId;
    },
    get relaysEdits() {
      return bus.relaysEdits;
    },
    get maxMessageBytes() {
      return bus.maxMessageBytes;
    },
    publish(message) {
      count.busMessage('sent', message.type);
      bus.publish(message);
    },
    onMessage: (listener) => bus.onMessage(listener),
    onReconnect: (listener) => bus.onReconnect(listener),
    close: () => bus.close(),
  };
}
