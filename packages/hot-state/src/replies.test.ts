import { describe, expect, it } from 'vitest';
import {
  asClaimReply,
  asMarkPublishedReply,
  asReleaseReply,
  asReserveReply,
  asRoomPlaces,
  asTakenRecord,
  asWriteHotReply,
  UnexpectedReply,
} from './replies.ts';

describe('reading the replies of the Lua steps', () => {
  it('takes every case of a step, and narrows on its first element', () => {
    const reply = asReserveReply(['RESERVED', 'o1', '7', '123']);
    expect(reply[0] === 'RESERVED' && Number(reply[2])).toBe(7);
    expect(asReserveReply(['SOLD_OUT'])).toEqual(['SOLD_OUT']);
    expect(asReleaseReply(['released'])).toEqual(['released']);
    expect(asReleaseReply(['released', 'PENDING'])).toEqual(['released', 'PENDING']);
    expect(asClaimReply(['published', 'u', '2', '3'])).toEqual(['published', 'u', '2', '3']);
    expect(asMarkPublishedReply('GONE')).toBe('GONE');
    expect(asWriteHotReply(0)).toBe(0);
    expect(asTakenRecord(null)).toBeNull();
    expect(asTakenRecord('{"s":"reserved","u":"u","q":1,"k":"k","e":1,"c":"c"}')).toMatchObject({ q: 1 });
  });

  it('refuses a reply outside its union: unknown case, wrong length, wrong type', () => {
    expect(() => asReserveReply(['SOLD_OUT', 'extra'])).toThrow(UnexpectedReply);
    expect(() => asReserveReply(['RESERVED', 'o1'])).toThrow(UnexpectedReply);
    expect(() => asReserveReply(['constructor'])).toThrow(UnexpectedReply);
    expect(() => asReserveReply([])).toThrow(UnexpectedReply);
    expect(() => asReserveReply('RESERVED')).toThrow(UnexpectedReply);
    expect(() => asReleaseReply(['LEASE_LOST', 'x'])).toThrow(UnexpectedReply);
    expect(() => asClaimReply(['published', 'u', 2, '3'])).toThrow(UnexpectedReply);
    expect(() => asMarkPublishedReply('reserved')).toThrow(UnexpectedReply);
    expect(() => asWriteHotReply('1')).toThrow(UnexpectedReply);
    expect(() => asTakenRecord(0)).toThrow(UnexpectedReply);
  });

  it('reads the room and each asked place of queue-read-many, in order', () => {
    const room = ['OK', '5000', '2', '9', '10', '1000', '9000', '0', '50', '300000', '1', '2', '-1', ''];
    const r = asRoomPlaces([...room, '4', '', '-1', '', '0', '4200'], 3);
    expect(r.room).toMatchObject({ nowMs: 5000, cursor: 2, lineLength: 9, ticket: null });
    expect(r.places).toEqual([{ rank: 4, admittedAtMs: null }, null, { rank: 0, admittedAtMs: 4200 }]);
    expect(asRoomPlaces(room, 0).places).toEqual([]);
    // A reply of another length than the places asked for is not guessed at.
    expect(() => asRoomPlaces([...room, '4', ''], 2)).toThrow(UnexpectedReply);
    expect(() => asRoomPlaces(['UNQUEUED'], 0)).toThrow(UnexpectedReply);
  });
});
