import register from './hub';

export = register;
