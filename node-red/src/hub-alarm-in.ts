import { alarmFeed } from './live';
import { registerLiveNode } from './live-node';
import type { NodeAPI } from './red';

export = (RED: NodeAPI) => registerLiveNode(RED, 'hub-alarm-in', alarmFeed);
