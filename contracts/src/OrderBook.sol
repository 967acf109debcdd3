// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title OrderBook
/// @notice Takes struct (tuple) arguments, nested structs, arrays, bytes32 and overloaded functions:
/// the shapes that ABI encoders get wrong.
contract OrderBook {
    struct Leg {
        address token;
        uint256 amount;
    }

    struct Order {
        address maker;
        Leg give;
        Leg[] want;
        bytes32 salt;
        uint64 deadline;
    }

    uint256 public orderCount;
    mapping(uint256 => bytes32) public orderHashes;

    event OrderSubmitted(uint256 indexed id, address indexed maker, bytes32 hash, uint256 wantedTotal);

    function submit(Order calldata order) external returns (uint256 id) {
        id = ++orderCount;
        bytes32 hash = hashOrder(order);
        orderHashes[id] = hash;
        emit OrderSubmitted(id, order.maker, hash, totalWanted(order));
    }

    function hashOrder(Order calldata order) public pure returns (bytes32) {
        return keccak256(abi.encode(order));
    }

    function totalWanted(Order calldata order) public pure returns (uint256 total) {
        for (uint256 i = 0; i < order.want.length; i++) {
            total += order.want[i].amount;
        }
    }

    function echo(Order calldata order) external pure returns (Order memory) {
        return order;
    }

    function sum(uint256[] calldata values) external pure returns (uint256 total) {
        for (uint256 i = 0; i < values.length; i++) {
            total += values[i];
        }
    }

    function describe(uint256 value) external pure returns (string memory) {
        return value == 0 ? "zero" : "a number";
    }

    function describe(address who) external pure returns (string memory) {
        return who == address(0) ? "the zero address" : "an address";
    }

    function describe(uint256 a, uint256 b) external pure returns (string memory) {
        return a == b ? "two equal numbers" : "two numbers";
    }
}
